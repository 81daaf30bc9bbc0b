import Foundation
import HubAuditCore
import HubClient
import HubConfig
import HubCrypto
import HubSynthetic
import HubTestSupport
import Synchronization
import Testing

/// `kill -9` of a hub process under concurrent writes — creates, updates, transaction Bundles and
/// HL7 v2 laboratory results (issue #18): after a restart every acknowledged write reads back as
/// it was acknowledged, nothing is half-written, every write in the database has its audit
/// record, and the audit log before the crash is a prefix of the log after it (a consistency
/// proof between checkpoints either side verifies).
@Suite struct HubCrashTests {
    /// A write the hub acknowledged: the resource as its answer carried it.
    private struct Acknowledged: Sendable {
        var type: String
        var id: String
        var version: String
        /// The resource as answered, re-serialized with sorted keys (compared the same way).
        var body: Data
    }

    private static func canonical(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    /// An HL7 v2 result the hub acknowledged (AA): whose, and its message control id.
    private struct LabResult: Sendable {
        var patient: String
        var residentID: String
        var control: String
    }

    private final class Log: Sendable {
        let acknowledged = Mutex<[Acknowledged]>([])
        let results = Mutex<[LabResult]>([])
        let answers = Mutex<[Int: Int]>([:])
        let stop = Atomic<Bool>(false)
    }

    @Test func killedUnderWritesItLosesNothingAcknowledgedAndItsLogStaysConsistent() async throws {
        try await TestDatabase.withFresh { url in
            let pki = try TestEnvironment.pki()
            let port = try freePort()
            // One environment for both runs: the same keys, or nothing could be read back.
            var environment = try HubCommandTests.environment(database: url, port: port)
            environment["HUB_DATABASE_MIGRATE_ON_START"] = "true"
            environment["HUB_TLS_CLIENT_AUTH"] = "optional"
            environment["HUB_TLS_CLIENT_CA"] = pki.caCertificate

            let first = try startServing(environment)
            defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
            try #require(try await pollReady(port: port, ca: pki.caCertificate))
            try await TestHub.registerIdentities(in: url)
            let hub = try HubClient(
                configuration: .init(
                    serverURL: "https://127.0.0.1:\(port)", caCertificate: pki.caCertificate,
                    clientCertificate: pki.clientCertificate, clientKey: pki.clientKey))
            let regulator = try HubClient(
                configuration: .init(
                    serverURL: "https://127.0.0.1:\(port)", caCertificate: pki.caCertificate,
                    clientCertificate: pki.regulator.clientCertificate, clientKey: pki.regulator.clientKey))
            let before = try SignedCheckpoint(note: String(decoding: try await regulator.send("POST", "/audit/checkpoint").body, as: UTF8.self))

            let log = Log()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask { await Self.write(through: hub, worker: worker, into: log) }
                }
                // Until a fair number of writes are acknowledged (bounded: up to a minute on a
                // loaded machine), then the crash.
                for _ in 0..<600 where log.acknowledged.withLock({ $0.count }) < 150 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                kill(first.processIdentifier, SIGKILL)
                #expect(await waitForExit(first, within: .seconds(20)))
                log.stop.store(true, ordering: .relaxed)
                try await group.waitForAll()
            }
            #expect(first.terminationReason == .uncaughtSignal)

            let second = try startServing(environment)
            defer { if second.isRunning { second.terminate() } }
            #expect(try await pollReady(port: port, ca: pki.caCertificate))

            // Every acknowledged write reads back as acknowledged (its version, and the latest
            // acknowledged version of each resource is no older than the current one allows).
            let acknowledged = log.acknowledged.withLock { $0 }
            #expect(acknowledged.count >= 20)  // enough writes for the checks to mean something
            for write in acknowledged {
                let read = try await hub.send("GET", "/fhir/\(write.type)/\(write.id)/_history/\(write.version)")
                #expect(read.status == 200, "\(write.type)/\(write.id)/_history/\(write.version): \(read.status)")
                let body = try JSONSerialization.jsonObject(with: Data(read.body))
                #expect(Self.canonical(body) == write.body, "\(write.type)/\(write.id) v\(write.version) differs")
            }
            // Nothing half-written: each current row has its version, each version its audit record.
            let orphans = try await TestDatabase.strings(
                url,
                """
                SELECT count(*)::text FROM resources r
                WHERE NOT EXISTS (SELECT 1 FROM resource_versions v WHERE v.type = r.type AND v.id = r.id AND v.version = r.version)
                """)
            #expect(orphans == ["0"])
            let unaudited = try await TestDatabase.strings(
                url,
                """
                SELECT v.type || '/' || v.id || '/' || v.version FROM resource_versions v
                WHERE v.type = 'Patient' AND NOT EXISTS (
                  SELECT 1 FROM (SELECT action, patient FROM audit_log UNION ALL SELECT action, patient FROM audit_queue) a
                  WHERE a.patient = v.id AND a.action = CASE WHEN v.version = 1 THEN 'C' ELSE 'U' END)
                """)
            #expect(unaudited.isEmpty, "written without an audit record: \(unaudited.prefix(5))")

            // Every acknowledged laboratory result is there whole (a report and its two
            // results), sending it again is recognised as received, and no report in the
            // database is missing a result (a message is stored whole or not at all).
            let results = log.results.withLock { $0 }
            #expect(!results.isEmpty)
            for result in results {
                let found =
                    try JSONSerialization.jsonObject(
                        with: Data(
                            try await hub.send(
                                "GET", "/fhir/DiagnosticReport?subject=Patient/\(result.patient)&_include=DiagnosticReport:result"
                            ).body)) as? [String: Any]
                let types = ((found?["entry"] as? [[String: Any]]) ?? []).compactMap {
                    ($0["resource"] as? [String: Any])?["resourceType"] as? String
                }
                #expect(
                    types.filter { $0 == "DiagnosticReport" }.count == 1 && types.filter { $0 == "Observation" }.count == 2,
                    "\(result.control): \(types)")
            }
            if let last = results.last {
                let resent = try await hub.send(
                    "POST", "/hl7v2", headers: HL7Fixture.er7, body: HL7Fixture.oru(residentID: last.residentID, control: last.control))
                #expect(HL7Fixture.acknowledgement(resent.text).code == "AA")
                #expect(resent.text.contains("received and stored before"))
            }
            let wholeReports = try await TestDatabase.strings(
                url,
                """
                SELECT ((SELECT count(*) FROM resources WHERE type = 'Observation')
                  = 2 * (SELECT count(*) FROM resources WHERE type = 'DiagnosticReport'))::text
                """)
            #expect(wholeReports == ["true"])

            // The log after the crash extends the log before it.
            let after = try SignedCheckpoint(note: String(decoding: try await regulator.send("POST", "/audit/checkpoint").body, as: UTF8.self))
            #expect(after.checkpoint.size > before.checkpoint.size)
            let proof =
                try JSONSerialization.jsonObject(
                    with: Data(
                        try await regulator.send(
                            "GET", "/audit/proof/consistency?from=\(before.checkpoint.size)&to=\(after.checkpoint.size)"
                        ).body)) as? [String: Any]
            let hashes = ((proof?["hashes"] as? [String]) ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
            let tree = MerkleTree(hash: try SM3())
            #expect(
                tree.verifyConsistency(
                    oldSize: before.checkpoint.size, newSize: after.checkpoint.size,
                    oldRoot: before.checkpoint.rootHash, newRoot: after.checkpoint.rootHash, proof: hashes))
            try await hub.shutdown()
            try await regulator.shutdown()
            second.terminate()
            #expect(await waitForExit(second, within: .seconds(20)))
        }
    }

    /// Creates a patient, files a laboratory result for it over HL7 v2, updates it, and files a
    /// transaction Bundle of two more, over and over (at most 500 rounds) until the hub stops
    /// answering; notes what was acknowledged.
    private static func write(through hub: HubClient, worker: Int, into log: Log) async {
        var people = SyntheticPatients(seed: 7_700 + UInt64(worker))
        let json = [("Content-Type", "application/fhir+json")]
        for round in 0..<500 where !log.stop.load(ordering: .relaxed) {
            let person = people.person()
            guard let created = try? await hub.send("POST", "/fhir/Patient", headers: json, body: Array(people.patientJSON(person).utf8))
            else { return }
            guard let patient = Self.note(created, into: log).first,
                var changed = (try? JSONSerialization.jsonObject(with: patient.body)) as? [String: Any]
            else { continue }
            let control = "CRASH-\(worker)-\(round)"
            guard
                let filed = try? await hub.send(
                    "POST", "/hl7v2", headers: HL7Fixture.er7, body: HL7Fixture.oru(residentID: person.residentID, control: control))
            else { return }
            if HL7Fixture.acknowledgement(filed.text).code == "AA" {
                log.results.withLock { $0.append(LabResult(patient: patient.id, residentID: person.residentID, control: control)) }
            }
            changed["gender"] = (changed["gender"] as? String) == "male" ? "female" : "male"
            guard
                let updated = try? await hub.send(
                    "PUT", "/fhir/Patient/\(patient.id)", headers: json, body: Array(Self.canonical(changed)))
            else { return }
            _ = Self.note(updated, into: log)
            let entries = (0..<2).map { _ in
                #"{"request":{"method":"POST","url":"Patient"},"resource":"# + people.patientJSON() + "}"
            }
            let bundle = #"{"resourceType":"Bundle","type":"transaction","entry":["# + entries.joined(separator: ",") + "]}"
            guard let filedBundle = try? await hub.send("POST", "/fhir", headers: json, body: Array(bundle.utf8)) else { return }
            _ = Self.note(filedBundle, into: log)
        }
    }

    /// Records an answer; returns the resources it acknowledged (a resource, or a Bundle's).
    private static func note(_ reply: HubClient.Reply, into log: Log) -> [Acknowledged] {
        log.answers.withLock { $0[reply.status, default: 0] += 1 }
        guard (200..<300).contains(reply.status),
            let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        else { return [] }
        var resources: [[String: Any]] = []
        if object["resourceType"] as? String == "Bundle" {
            for entry in object["entry"] as? [[String: Any]] ?? [] {
                if let resource = entry["resource"] as? [String: Any] { resources.append(resource) }
            }
        } else {
            resources.append(object)
        }
        let acknowledged = resources.compactMap { resource -> Acknowledged? in
            guard let type = resource["resourceType"] as? String, let id = resource["id"] as? String,
                let version = (resource["meta"] as? [String: Any])?["versionId"] as? String
            else { return nil }
            return Acknowledged(type: type, id: id, version: version, body: Self.canonical(resource))
        }
        log.acknowledged.withLock { $0.append(contentsOf: acknowledged) }
        return acknowledged
    }
}
