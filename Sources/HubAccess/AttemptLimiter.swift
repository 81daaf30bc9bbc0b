public import Foundation
import Synchronization

/// At most `attempts` counted attempts per key (a principal) within a sliding `window`: failed
/// logins, registrations by resident-ID card — what an attacker repeats to guess.
///
/// Held in memory by each hub process: a restart, or another node behind the same address,
/// starts afresh (docs/security.md). Memory is bounded: at most `maximumKeys` keys are
/// remembered; beyond that the key idle longest is forgotten first.
public final class AttemptLimiter: Sendable {
    public let attempts: Int
    public let window: TimeInterval
    let maximumKeys: Int
    let state = Mutex<[String: [Date]]>([:])

    public init(attempts: Int, window: TimeInterval, maximumKeys: Int = 10_000) {
        self.attempts = max(1, attempts)
        self.window = max(1, window)
        self.maximumKeys = max(1, maximumKeys)
    }

    /// Throws ``AccessError/Code/tooManyAttempts`` (429, with when to retry) when `key` has used
    /// its attempts within the window; otherwise nothing.
    public func check(_ key: String, what: String, now: Date = Date()) throws(AccessError) {
        let retry: TimeInterval? = self.state.withLock { state in
            let recent = Self.recent(state[key] ?? [], within: self.window, of: now)
            state[key] = recent.isEmpty ? nil : recent
            guard recent.count >= self.attempts, let oldest = recent.first else { return nil }
            return oldest.addingTimeInterval(self.window).timeIntervalSince(now)
        }
        if let retry {
            throw AccessError(
                .tooManyAttempts, "too many \(what); try again in \(Int(retry.rounded(.up))) seconds",
                oauthError: "invalid_request", retryAfterSeconds: max(1, Int(retry.rounded(.up)))
            )
        }
    }

    /// Counts one attempt by `key`.
    public func count(_ key: String, now: Date = Date()) {
        self.state.withLock { state in
            var recent = Self.recent(state[key] ?? [], within: self.window, of: now)
            recent.append(now)
            // Only the latest `attempts` matter for the decision.
            if recent.count > self.attempts { recent.removeFirst(recent.count - self.attempts) }
            state[key] = recent
            if state.count > self.maximumKeys {
                // Forget expired keys first, then the one idle longest.
                state = state.filter { !Self.recent($0.value, within: self.window, of: now).isEmpty }
                while state.count > self.maximumKeys, let idle = state.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })?.key {
                    state[idle] = nil
                }
            }
        }
    }

    /// Checks, then counts: for attempts that count whether or not they succeed.
    public func attempt(_ key: String, what: String, now: Date = Date()) throws(AccessError) {
        try self.check(key, what: what, now: now)
        self.count(key, now: now)
    }

    static func recent(_ times: [Date], within window: TimeInterval, of now: Date) -> [Date] {
        times.filter { now.timeIntervalSince($0) < window }
    }
}
