public import Foundation
import Synchronization

/// At most `attempts` counted attempts per key within a sliding `window`: what an attacker
/// repeats to guess — failed logins (per claimed principal), registrations by resident-ID card
/// and identifier conflicts (per organization).
///
/// Held in memory by each hub process: a restart, or another node behind the same address,
/// starts afresh (docs/security.md). Memory is bounded: at most `maximumKeys` keys are
/// remembered; beyond that the key idle longest is forgotten first.
public final class AttemptLimiter: Sendable {
    public let attempts: Int
    public let window: TimeInterval
    let maximumKeys: Int
    let state = Mutex<[String: [Date]]>([:])

    /// Too many attempts: answered 429 with `Retry-After`.
    public struct Exceeded: Error, Sendable, Equatable, CustomStringConvertible {
        /// What was attempted too often ("failed logins").
        public var what: String
        public var retryAfterSeconds: Int
        public var description: String { "too many \(self.what); try again in \(self.retryAfterSeconds) seconds" }
    }

    public init(attempts: Int, window: TimeInterval, maximumKeys: Int = 10_000) {
        self.attempts = max(1, attempts)
        self.window = max(1, window)
        self.maximumKeys = max(1, maximumKeys)
    }

    /// Throws ``Exceeded`` when `key` has used its attempts within the window; counts nothing.
    public func check(_ key: String, what: String, now: Date = Date()) throws(Exceeded) {
        if let retry = self.state.withLock({ self.exhausted(key, in: &$0, now: now) }) {
            throw Exceeded(what: what, retryAfterSeconds: retry)
        }
    }

    /// Counts one attempt by `key`.
    public func count(_ key: String, now: Date = Date()) {
        self.state.withLock { self.record(key, in: &$0, now: now) }
    }

    /// Checks and counts in one step (no two concurrent attempts both pass the last slot); a
    /// refused attempt is not counted, so refusals do not extend the wait.
    public func attempt(_ key: String, what: String, now: Date = Date()) throws(Exceeded) {
        let retry: Int? = self.state.withLock { state in
            if let retry = self.exhausted(key, in: &state, now: now) { return retry }
            self.record(key, in: &state, now: now)
            return nil
        }
        if let retry { throw Exceeded(what: what, retryAfterSeconds: retry) }
    }

    /// Seconds until `key` may try again, or nil when it may now.
    func exhausted(_ key: String, in state: inout [String: [Date]], now: Date) -> Int? {
        let recent = Self.recent(state[key] ?? [], within: self.window, of: now)
        state[key] = recent.isEmpty ? nil : recent
        guard recent.count >= self.attempts, let oldest = recent.first else { return nil }
        return max(1, Int(oldest.addingTimeInterval(self.window).timeIntervalSince(now).rounded(.up)))
    }

    func record(_ key: String, in state: inout [String: [Date]], now: Date) {
        var recent = Self.recent(state[key] ?? [], within: self.window, of: now)
        recent.append(now)
        // Only the latest `attempts` matter for the decision.
        if recent.count > self.attempts { recent.removeFirst(recent.count - self.attempts) }
        state[key] = recent
        if state.count > self.maximumKeys {
            // Forget expired keys first, then the one idle longest.
            state = state.filter { !Self.recent($0.value, within: self.window, of: now).isEmpty }
            while state.count > self.maximumKeys, let idle = state.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })?.key
            {
                state[idle] = nil
            }
        }
    }

    static func recent(_ times: [Date], within window: TimeInterval, of now: Date) -> [Date] {
        times.filter { now.timeIntervalSince($0) < window }
    }
}
