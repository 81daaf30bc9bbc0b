import ArgumentParser
import Foundation
import HubClient
import HubSynthetic
import Synchronization

/// Writes patients while the database is stopped and started again underneath the hub
/// (`ops/chaos/database-crash` passes the commands), then checks what issue #18 asks: no answer
/// a 500, every refusal a 503 with `Retry-After`, the outage seen by `/readyz` and answered
/// within a second (requests in flight at the stop included), readiness back soon after the
/// database, and every acknowledged create readable afterwards. Prints one JSON object; exits 1 when a check fails.
struct OutageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outage", abstract: "Write through a database outage and check what the hub answered.")

    @OptionGroup var client: ClientOptions
    @Option(help: "Concurrent writers.") var writers = 16
    @Option(help: "Seconds of writing in all.") var seconds = 25
    @Option(help: "Seconds after the start at which the stop command runs.") var stopAt = 5
    @Option(help: "Seconds the database stays down.") var downFor = 6
    @Option(help: "Shell command that stops the database (e.g. pg_ctl stop -m immediate).") var stopCommand: String
    @Option(help: "Shell command that starts it again.") var startCommand: String
    @Option(help: "File to write the acknowledged patients' ids to, one per line.") var acknowledged: String?
    @Flag(
        help:
            "A failover or a hub lost behind a load balancer, not an outage: instead of readiness timings, check that writes resume within --resume-within seconds of the stop."
    )
    var failover = false
    @Option(help: "With --failover: seconds after the stop within which a create must succeed again.") var resumeWithin = 30.0
    @Option(help: "Requests that may fail without an answer (those in flight on a hub that is killed).") var unansweredAllowed = 0
    @Flag(help: "Every request must be acknowledged: no refusal, no failure (a rolling restart).") var noFailures = false
    @Option(help: "Seed of the synthetic patients (writer w uses seed + w); runs on one database need different seeds.") var seed: UInt64 = 18_000

    /// One answer: when it was asked and answered (seconds since the start), and what it was.
    struct Answer: Sendable {
        var sent: Double
        var answered: Double
        var status: Int
        var retryAfter: Bool
    }

    final class Record: Sendable {
        let answers = Mutex<[Answer]>([])
        let created = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        /// `/readyz` transitions: (seconds since the start, ready).
        let readiness = Mutex<[(Double, Bool)]>([])
    }

    func run() async throws {
        let hub = try self.client.client(connections: self.writers + 1)
        let clock = ContinuousClock()
        let start = clock.now
        let since: @Sendable () -> Double = { (clock.now - start).seconds }
        let record = Record()
        let end = Double(self.seconds)
        let (stopAt, downFor, stop, startAgain) = (Double(self.stopAt), Double(self.downFor), self.stopCommand, self.startCommand)
        var stoppedAt = 0.0
        var startedAt = 0.0
        let seed = self.seed
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<self.writers {
                group.addTask { await Self.write(hub, writer: writer, seed: seed, until: end, since: since, into: record) }
            }
            group.addTask { await Self.watchReadiness(hub, until: end, since: since, into: record) }
            try await Task.sleep(for: .seconds(stopAt))
            stoppedAt = since()
            try await Self.shell(stop)
            try await Task.sleep(for: .seconds(downFor))
            startedAt = since()
            try await Self.shell(startAgain)
            try await group.waitForAll()
        }

        // Every acknowledged create reads back.
        let created = record.created.withLock { $0 }
        var lost: [String] = []
        for id in created {
            let reply = try? await hub.send("GET", "/fhir/Patient/\(id)")
            if reply?.status != 200 { lost.append(id) }
        }
        try await hub.shutdown()
        if let path = self.acknowledged {
            try Data((created.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        }

        let answers = record.answers.withLock { $0 }
        let readiness = record.readiness.withLock { $0 }
        let statuses = Dictionary(answers.map { ($0.status, 1) }, uniquingKeysWith: +)
        let firstRefusal = answers.filter { $0.status == 503 && $0.answered >= stoppedAt }.map(\.answered).min()
        let notReady = readiness.first { !$0.1 && $0.0 >= stoppedAt }?.0
        let readyAgain = readiness.first { $0.1 && $0.0 >= startedAt }?.0
        let firstCreateAfter = answers.filter { $0.status == 201 && $0.sent >= startedAt }.map(\.answered).min()
        // Asked while down (after the outage was reported): how long the answers took.
        let duringOutage = answers.filter { $0.sent >= (notReady ?? .infinity) && $0.sent < startedAt }.map { $0.answered - $0.sent }
        // In flight when the database stopped: how long after the stop they were answered.
        let inFlightAtStop = answers.filter { $0.sent < stoppedAt && $0.answered >= stoppedAt }.map { $0.answered - stoppedAt }
        let unanswered = record.failures.withLock { $0 }
        var problems = unanswered.count > self.unansweredAllowed ? unanswered : []
        if (statuses[500] ?? 0) > 0 { problems.append("\(statuses[500]!) answers were 500") }
        if statuses.keys.contains(where: { ![201, 200, 503].contains($0) }) { problems.append("unexpected statuses \(statuses)") }
        if answers.contains(where: { $0.status == 503 && !$0.retryAfter }) { problems.append("a 503 without Retry-After") }
        if !lost.isEmpty { problems.append("\(lost.count) acknowledged creates do not read back") }
        // Writes resumed: the first create acknowledged that was sent after the first refusal.
        let firstCreateAfterStop = answers.filter { $0.status == 201 && $0.sent >= stoppedAt }.map(\.answered).min()
        let resumed =
            firstRefusal.map { refused in answers.filter { $0.status == 201 && $0.sent >= refused }.map(\.answered).min() }
            ?? firstCreateAfterStop
        if self.noFailures {
            let refused = answers.filter { $0.status != 201 }.count
            if refused > 0 { problems.append("\(refused) requests were not acknowledged (statuses \(statuses))") }
            if !unanswered.isEmpty { problems.append("\(unanswered.count) requests failed without an answer") }
        } else if self.failover {
            if !(resumed.map { $0 - stoppedAt <= self.resumeWithin } ?? false) {
                problems.append("writes did not resume within \(self.resumeWithin) s of the stop")
            }
        } else {
            if let slowest = inFlightAtStop.max(), slowest > 1 {
                problems.append("a request in flight at the stop was answered \(slowest) s after it")
            }
            if let notReady, notReady - stoppedAt > 1 { problems.append("/readyz reported the outage after \(notReady - stoppedAt) s") }
            if notReady == nil { problems.append("/readyz never reported the outage") }
            if let firstRefusal, firstRefusal - stoppedAt > 1 { problems.append("the first 503 came \(firstRefusal - stoppedAt) s after the stop") }
            if readyAgain == nil { problems.append("/readyz never reported ready again") }
        }

        let round: (Double?) -> Double? = { $0.map { ($0 * 1000).rounded() / 1000 } }
        let summary: [String: Any] = [
            "name": "database-outage",
            "writers": self.writers,
            "statuses": Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) }),
            "acknowledgedCreates": created.count,
            "lostCreates": lost.count,
            "stoppedAtSeconds": round(stoppedAt) as Any,
            "startedAtSeconds": round(startedAt) as Any,
            "readyzDownAfterSeconds": round(notReady.map { $0 - stoppedAt }) as Any,
            "first503AfterSeconds": round(firstRefusal.map { $0 - stoppedAt }) as Any,
            "slowestAnswerWhileDownSeconds": round(duringOutage.max()) as Any,
            "inFlightAtStopAnsweredWithinSeconds": round(inFlightAtStop.max()) as Any,
            "readyAgainAfterStartSeconds": round(readyAgain.map { $0 - startedAt }) as Any,
            "firstCreateAfterStartSeconds": round(firstCreateAfter.map { $0 - startedAt }) as Any,
            "writesResumedAfterSeconds": round(resumed.map { $0 - stoppedAt }) as Any,
            "unanswered": unanswered.count,
            "problems": problems,
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// Runs `command` with `/bin/sh` to its end, waited for with `waitpid` on a thread of its
    /// own. Not Foundation's `Process`: it sees a child end only when every descendant has
    /// closed what the child inherited, and `pg_ctl start` leaves PostgreSQL running with it.
    static func shell(_ command: String) async throws {
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread { continuation.resume(returning: Self.runToEnd(command)) }
        }
        guard status == 0 else { throw ValidationError("`\(command)` failed with status \(status)") }
    }

    /// The wait status of `/bin/sh -c command`, or -1 when it could not be started.
    private static func runToEnd(_ command: String) -> Int32 {
        let words: [String] = ["/bin/sh", "-c", command]
        let arguments = words.map { strdup($0) }
        defer { for argument in arguments { free(argument) } }
        var argv = arguments + [nil]
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        return status
    }

    /// Creates patients until `end` (at most 100,000 per writer), pausing 50 ms after a refusal.
    static func write(
        _ hub: HubClient, writer: Int, seed: UInt64, until end: Double, since: @Sendable () -> Double, into record: Record
    ) async {
        var people = SyntheticPatients(seed: seed + UInt64(writer))
        for _ in 0..<100_000 where since() < end {
            let sent = since()
            do {
                let reply = try await hub.send(
                    "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON().utf8))
                let answer = Answer(sent: sent, answered: since(), status: reply.status, retryAfter: reply.header("retry-after") != nil)
                record.answers.withLock { $0.append(answer) }
                if reply.status == 201,
                    let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
                    let id = object["id"] as? String
                {
                    record.created.withLock { $0.append(id) }
                } else if reply.status == 503 {
                    try? await Task.sleep(for: .milliseconds(50))
                }
            } catch {
                record.failures.withLock { $0.append("a request failed without an answer: \(error)") }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Asks `/readyz` every 50 ms until `end`, noting each change.
    static func watchReadiness(_ hub: HubClient, until end: Double, since: @Sendable () -> Double, into record: Record) async {
        var last: Bool?
        for _ in 0..<100_000 where since() < end {
            let ready = (try? await hub.send("GET", "/readyz"))?.status == 200
            if ready != last {
                let at = since()
                record.readiness.withLock { $0.append((at, ready)) }
                last = ready
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
