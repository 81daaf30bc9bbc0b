public import Foundation

/// When a failed notification is tried again: after `initial`, doubling each attempt up to
/// `maximum`, until `giveUpAfter` has passed since it was queued — then it is given up ("dead")
/// and stays visible to its subscriber. A notification is always tried at least twice: its first
/// attempt may come late (the hub was down or busy), and one failure is not a verdict.
public struct RetrySchedule: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var giveUpAfter: Duration

    public init(initial: Duration, maximum: Duration, giveUpAfter: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.giveUpAfter = giveUpAfter
    }

    /// The next attempt after `attempts` failed ones of a notification queued at `queuedAt`, or
    /// nil to give up. `jitter` in 0..<1 spreads retries of many notifications over the last
    /// quarter of the delay, so that a receiver coming back is not hit by all of them at once.
    public func nextAttempt(after attempts: Int, queuedAt: Date, now: Date, jitter: Double = 0) -> Date? {
        let doublings = min(max(attempts - 1, 0), 30)
        let base = min(Self.seconds(self.initial) * pow(2, Double(doublings)), Self.seconds(self.maximum))
        let delay = base * (0.75 + 0.25 * min(max(jitter, 0), 1))
        let next = now.addingTimeInterval(delay)
        if attempts < 2 { return next }
        return next.timeIntervalSince(queuedAt) > Self.seconds(self.giveUpAfter) ? nil : next
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
