import Foundation
import HubNotifications
import Testing

@Suite struct RetryScheduleTests {
    let schedule = RetrySchedule(initial: .seconds(10), maximum: .seconds(600), giveUpAfter: .seconds(3600))
    let queued = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func delaysDoubleUpToTheMaximum() {
        let delays = (1...9).map { attempts in
            schedule.nextAttempt(after: attempts, queuedAt: queued, now: queued, jitter: 1)!.timeIntervalSince(queued)
        }
        #expect(delays == [10, 20, 40, 80, 160, 320, 600, 600, 600])
    }

    @Test func jitterShortensByAtMostAQuarter() {
        let shortest = schedule.nextAttempt(after: 3, queuedAt: queued, now: queued, jitter: 0)!.timeIntervalSince(queued)
        let longest = schedule.nextAttempt(after: 3, queuedAt: queued, now: queued, jitter: 0.999)!.timeIntervalSince(queued)
        #expect(shortest == 30)
        #expect(longest > 39.9 && longest <= 40)
    }

    @Test func givesUpOnceTheNextAttemptWouldBeLate() {
        let late = queued.addingTimeInterval(3500)
        #expect(schedule.nextAttempt(after: 8, queuedAt: queued, now: late, jitter: 1) == nil)
        #expect(schedule.nextAttempt(after: 1, queuedAt: queued, now: queued.addingTimeInterval(3580), jitter: 1) != nil)
    }

    @Test func aSingleFailureIsRetriedEvenPastTheWindow() {
        // The first attempt came after the window (the hub was down): one more try, then give up.
        let afterOutage = queued.addingTimeInterval(7200)
        #expect(schedule.nextAttempt(after: 1, queuedAt: queued, now: afterOutage, jitter: 1) != nil)
        #expect(schedule.nextAttempt(after: 2, queuedAt: queued, now: afterOutage, jitter: 1) == nil)
    }
}
