import Foundation
import HubResourcesCore
import Testing

@Suite struct AttemptLimiterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func refusesPastTheLimitUntilTheWindowMovesOn() throws {
        let limiter = AttemptLimiter(attempts: 3, window: 60)
        for second in 0..<3 {
            try limiter.check("client-a", what: "failed logins", now: self.start + Double(second))
            limiter.count("client-a", now: self.start + Double(second))
        }
        let refusal = #expect(throws: AttemptLimiter.Exceeded.self) { try limiter.check("client-a", what: "failed logins", now: self.start + 10) }
        #expect(refusal?.what == "failed logins")
        // The oldest attempt (second 0) leaves the window at second 60: 50 seconds from now.
        #expect(refusal?.retryAfterSeconds == 50)
        // Another principal is not held back by this one.
        try limiter.check("client-b", what: "failed logins", now: self.start + 10)
        // Once the first attempt is older than the window, one more is allowed, not three.
        try limiter.check("client-a", what: "failed logins", now: self.start + 60)
        limiter.count("client-a", now: self.start + 60)
        #expect(throws: AttemptLimiter.Exceeded.self) { try limiter.check("client-a", what: "failed logins", now: self.start + 60.5) }
        try limiter.check("client-a", what: "failed logins", now: self.start + 200)
    }

    @Test func attemptCountsEveryTryEvenRefusedOnesDoNotExtendTheWait() throws {
        let limiter = AttemptLimiter(attempts: 2, window: 100)
        try limiter.attempt("clinician", what: "registrations", now: self.start)
        try limiter.attempt("clinician", what: "registrations", now: self.start + 1)
        for second in 2..<50 {
            #expect(throws: AttemptLimiter.Exceeded.self) {
                try limiter.attempt("clinician", what: "registrations", now: self.start + Double(second))
            }
        }
        // Refused attempts are not counted: the wait ends 100 s after the first counted one.
        try limiter.attempt("clinician", what: "registrations", now: self.start + 100)
    }

    @Test func remembersABoundedNumberOfPrincipals() throws {
        let limiter = AttemptLimiter(attempts: 1, window: 1000, maximumKeys: 100)
        limiter.count("victim", now: self.start)
        // The attacker floods the table with made-up principals; memory stays bounded, and the
        // principal idle longest is the one forgotten.
        for number in 0..<1_000 { limiter.count("made-up-\(number)", now: self.start + 1 + Double(number) / 1000) }
        try limiter.check("victim", what: "failed logins", now: self.start + 2)
        #expect(throws: AttemptLimiter.Exceeded.self) { try limiter.check("made-up-999", what: "failed logins", now: self.start + 2) }
    }
}
