import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Synchronization
import Testing

/// The database going away under load and coming back (issue #18): the hub never answers 500,
/// says 503 with `Retry-After` quickly rather than at its deadline, and loses nothing it
/// acknowledged. The database is cut by a proxy (the shared test cluster stays up for the other
/// tests).
@Suite struct DatabaseOutageTests {
    /// What the load saw: every answer's status, and the patients whose creation was acknowledged.
    private final class Observations: Sendable {
        struct State {
            var statuses: [Int: Int] = [:]
            var unexplained: [String] = []
            var acknowledged: [String] = []
            var slowestRefusalAfterDetection: Duration = .zero
        }

        let state = Mutex(State())
        let stop = Atomic<Bool>(false)
        /// Set once `/readyz` has reported the outage.
        let outageSeen = Atomic<Bool>(false)
    }

    @Test func anOutageIsAnswered503QuicklyAndNoAcknowledgedWriteIsLost() async throws {
        let pki = try TestEnvironment.pki()
        try await TestDatabase.withFresh { url in
            guard case .tcp(let host, let port) = url.endpoint else { return }
            let proxy = try await TCPProxy(targetHost: host, targetPort: port)
            var throughProxy = url
            throughProxy.endpoint = .tcp(host: "127.0.0.1", port: proxy.port)
            // The usual 10 s deadline: answering an outage quickly must not come from a short one.
            var configuration = try TestHub.configuration(database: throughProxy)
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let seen = Observations()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<4 {
                        group.addTask { try await Self.load(hub, worker: worker, pki: pki, into: seen) }
                    }
                    try await Task.sleep(for: .seconds(1))

                    proxy.cut()
                    let cut = ContinuousClock.now
                    var detected: Duration?
                    for _ in 0..<200 where detected == nil {
                        let ready = try await hub.send("GET", "/readyz", timeout: .seconds(15))
                        if ready.status == 503 {
                            detected = ContinuousClock.now - cut
                            #expect(ready.header("retry-after") != nil)
                        } else {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    // Issue #18 asks for 1 s; bounded here well below the 10 s deadline so that a
                    // loaded machine cannot fail the test while a regression to waiting still does.
                    #expect(detected != nil && detected! < .seconds(8), "outage reported after \(String(describing: detected))")
                    seen.outageSeen.store(true, ordering: .relaxed)
                    try await Task.sleep(for: .seconds(2))
                    #expect(try await hub.send("GET", "/healthz").status == 200)

                    proxy.restore()
                    let recovered = try await eventually(within: .seconds(30)) { try await hub.send("GET", "/readyz").status == 200 }
                    #expect(recovered)
                    seen.outageSeen.store(false, ordering: .relaxed)
                    try await Task.sleep(for: .seconds(1))
                    seen.stop.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                }

                let state = seen.state.withLock { $0 }
                #expect(state.unexplained.isEmpty, "\(state.unexplained.prefix(5))")
                #expect(state.statuses.keys.allSatisfy { [200, 201, 503].contains($0) }, "\(state.statuses)")
                #expect((state.statuses[503] ?? 0) > 0, "the outage was not seen by the load: \(state.statuses)")
                #expect(state.slowestRefusalAfterDetection < .seconds(8), "a refusal took \(state.slowestRefusalAfterDetection)")
                // Nothing acknowledged is lost: each reads back, and is in the database whole.
                #expect(!state.acknowledged.isEmpty)
                for id in state.acknowledged {
                    let read = try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki)
                    #expect(read.status == 200, "acknowledged Patient/\(id) answered \(read.status)")
                }
                let orphans = try await TestDatabase.strings(
                    url,
                    """
                    SELECT count(*)::text FROM resources r
                    WHERE NOT EXISTS (SELECT 1 FROM resource_versions v WHERE v.type = r.type AND v.id = r.id AND v.version = r.version)
                    """)
                #expect(orphans == ["0"])
            }
            try await proxy.close()
        }
    }

    /// Creates patients and reads each back until told to stop (at most 2,000 rounds).
    private static func load(_ hub: RunningHub, worker: Int, pki: TestPKI, into seen: Observations) async throws {
        var people = SyntheticPatients(seed: 9_000 + UInt64(worker))
        let json = [("Content-Type", "application/fhir+json")]
        for _ in 0..<2_000 where !seen.stop.load(ordering: .relaxed) {
            let afterDetection = seen.outageSeen.load(ordering: .relaxed)
            let start = ContinuousClock.now
            let created: HubClient.Reply
            do {
                created = try await hub.send(
                    "POST", "/fhir/Patient", headers: json, body: Array(people.patientJSON().utf8), presenting: pki, timeout: .seconds(30))
            } catch {
                seen.state.withLock { $0.unexplained.append("create: \(error)") }
                continue
            }
            let took = ContinuousClock.now - start
            Self.note(created, took: took, afterDetection: afterDetection, into: seen)
            guard created.status == 201, let id = (try? jsonObject(created))?["id"] as? String else {
                if created.status == 503 { try await Task.sleep(for: .milliseconds(50)) }
                continue
            }
            seen.state.withLock { $0.acknowledged.append(id) }
            let readStart = ContinuousClock.now
            if let read = try? await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki, timeout: .seconds(30)) {
                Self.note(read, took: ContinuousClock.now - readStart, afterDetection: afterDetection, into: seen)
            }
        }
    }

    private static func note(_ reply: HubClient.Reply, took: Duration, afterDetection: Bool, into seen: Observations) {
        seen.state.withLock { state in
            state.statuses[reply.status, default: 0] += 1
            guard reply.status == 503 else { return }
            if reply.header("retry-after") == nil { state.unexplained.append("503 without Retry-After") }
            if (try? jsonObject(reply))?["resourceType"] as? String != "OperationOutcome" {
                state.unexplained.append("503 without an OperationOutcome")
            }
            if afterDetection { state.slowestRefusalAfterDetection = max(state.slowestRefusalAfterDetection, took) }
        }
    }
}
