/// How long a background loop waits before its next round: its usual interval after a success,
/// doubling after each failure in a row up to a ceiling — the database or a peer being down must
/// not turn the loop into a busy one. A value that decides and does no I/O: the loop sleeps.
///
/// Used by every loop the hub runs in the background (the audit sequencer, the syslog feed, the
/// notification dispatcher), so there is one reviewed back-off, not three.
public struct Backoff: Sendable, Equatable {
    /// The pause after a success.
    public let interval: Duration
    /// The longest pause, however many failures.
    public let ceiling: Duration
    /// Failures in a row so far.
    public private(set) var failures = 0

    public init(interval: Duration, ceiling: Duration) {
        self.interval = interval
        self.ceiling = max(interval, ceiling)
    }

    /// What to do after a round.
    public struct Decision: Sendable, Equatable {
        /// How long to sleep before the next round.
        public var pause: Duration
        /// Whether to log this failure: the first of a run is, the rest of the run is not.
        public var report: Bool

        public init(pause: Duration, report: Bool) {
            self.pause = pause
            self.report = report
        }
    }

    /// The round succeeded: back to the usual interval.
    public mutating func succeeded() -> Decision {
        self.failures = 0
        return Decision(pause: self.interval, report: false)
    }

    /// The round failed: wait twice as long as after the previous failure, up to the ceiling.
    public mutating func failed() -> Decision {
        self.failures += 1
        var pause = self.interval
        // Doubling stops at the ceiling (and before the multiplication could overflow).
        for _ in 0..<min(self.failures, 40) where pause < self.ceiling { pause *= 2 }
        return Decision(pause: min(pause, self.ceiling), report: self.failures == 1)
    }
}
