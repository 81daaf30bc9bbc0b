import HubStorage
import Testing

@Suite struct BackoffTests {
    @Test func doublesAfterEachFailureUpToTheCeilingAndResetsOnSuccess() {
        var backoff = Backoff(interval: .milliseconds(200), ceiling: .seconds(10))
        let pauses = (0..<10).map { _ in backoff.failed() }
        #expect(
            pauses.map(\.pause) == [.milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200), .milliseconds(6400)]
                + Array(repeating: .seconds(10), count: 5))
        // Only the first failure of a run is reported.
        #expect(pauses.map(\.report) == [true] + Array(repeating: false, count: 9))
        #expect(backoff.failures == 10)
        #expect(backoff.succeeded() == Backoff.Decision(pause: .milliseconds(200), report: false))
        #expect(backoff.failed() == Backoff.Decision(pause: .milliseconds(400), report: true))
    }

    @Test func aCeilingBelowTheIntervalIsTheIntervalAndLongRunsDoNotOverflow() {
        var short = Backoff(interval: .seconds(5), ceiling: .seconds(1))
        #expect(short.ceiling == .seconds(5))
        #expect(short.failed().pause == .seconds(5))
        var long = Backoff(interval: .seconds(1), ceiling: .seconds(30))
        for _ in 0..<10_000 { _ = long.failed() }
        #expect(long.failed().pause == .seconds(30))
    }
}
