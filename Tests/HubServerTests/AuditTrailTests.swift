import Foundation
import HubAudit
import HubAuditCore
import HubClient
import HubConfig
import HubCrypto
import HubFHIR
import HubTestSupport
import Testing

@Suite struct AuditTrailTests {
    static let json = [("Content-Type", "application/fhir+json")]

    /// The hub's audit log, downloaded and verified the way a regulator would: the published
    /// keys, a fresh checkpoint and a segment, checked offline.
    static func verifiedLog(_ hub: RunningHub, pki: TestPKI) async throws -> [AuditRecord] {
        let checkpoint = try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator)
        #expect(checkpoint.status == 200)
        let signed = try SignedCheckpoint(note: String(decoding: checkpoint.body, as: UTF8.self))
        let keysReply = try await hub.send("GET", "/.well-known/hub-keys")
        let document = try JSONDecoder().decode(PublishedKeysDocument.self, from: Data(keysReply.body))
        let verifier = AuditLogVerifier(keys: try document.verifyingKeys(registry: .standard()))
        let size = signed.checkpoint.size
        let reply = try await hub.send("GET", "/audit/log/segment?start=0&end=\(size)&size=\(size)", presenting: pki.regulator)
        #expect(reply.status == 200)
        let segment = try JSONDecoder().decode(AuditLogSegment.self, from: Data(reply.body))
        return try verifier.verify(segment).records()
    }

    @Test func everyInteractionIsRecordedOncePerPatientAndTheLogVerifies() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 41)
            var patients: [String] = []
            var residentIDs: [String] = []
            var observations: [String: [String]] = [:]
            for number in 0..<2 {
                let person = people.person(number: number)
                residentIDs.append(person.residentID)
                let created = try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(person).utf8), presenting: pki))
                let id = try #require(created["id"] as? String)
                patients.append(id)
                for test in LabTest.common.prefix(2) {
                    let body = Array(people.observationJSON(test: test, patient: "Patient/\(id)", day: "2026-11-0\(number + 1)").utf8)
                    let observation = try jsonObject(try await hub.send("POST", "/fhir/Observation", headers: Self.json, body: body, presenting: pki))
                    observations[id, default: []].append(try #require(observation["id"] as? String))
                }
            }
            #expect(try await hub.send("GET", "/fhir/Patient/\(patients[0])", presenting: pki).status == 200)
            #expect(try await hub.send("GET", "/fhir/Observation?_count=50", presenting: pki).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient/no-such-patient", presenting: pki).status == 404)
            #expect(try await hub.send("GET", "/fhir/Patient/\(patients[1])").status == 401)

            let records = try await Self.verifiedLog(hub, pki: pki)
            // Writes: one per resource created, each naming its patient and version.
            let creates = records.filter { $0.interaction == "create" && $0.outcome == .success && $0.status == nil }
            #expect(creates.count == 6)
            for patient in patients {
                #expect(creates.contains { $0.patient == patient && $0.entities == ["Patient/\(patient)/_history/1"] })
                for observation in observations[patient] ?? [] {
                    #expect(creates.contains { $0.patient == patient && $0.entities == ["Observation/\(observation)/_history/1"] })
                }
            }
            // The read, with who and from where.
            let read = try #require(records.first { $0.interaction == "read" && $0.status == 200 })
            #expect(read.patient == patients[0])
            #expect(read.entities == ["Patient/\(patients[0])/_history/1"])
            #expect(read.caller.client == TestHub.Identities.system)
            #expect(read.caller.organization == TestHub.Identities.hospital)
            #expect(read.caller.address == "127.0.0.1")
            #expect(read.caller.requestID?.isEmpty == false)
            // The search that returned both patients' results: one record per patient.
            let search = records.filter { $0.interaction == "search-type" }
            #expect(Set(search.compactMap(\.patient)) == Set(patients))
            for record in search {
                let expected = (observations[record.patient ?? ""] ?? []).map { "Observation/\($0)/_history/1" }
                #expect(Set(record.entities) == Set(expected))
                #expect(record.parameters == ["_count"])
            }
            // The failure and the denial.
            #expect(records.contains { $0.status == 404 && $0.outcome == .minorFailure && $0.issue == .notFound && $0.entities.isEmpty })
            let denied = try #require(records.first { $0.status == 401 })
            #expect(denied.issue == .login)
            #expect(denied.caller.client == nil)
            // Anonymous: not attributed to the patient its path names (nobody may fill a
            // patient's history without credentials).
            #expect(denied.patient == nil)
            // A patient's access history as FHIR AuditEvents, paged, valid R4.
            var events: [[String: Any]] = []
            var path: String? = "/fhir/AuditEvent?patient=\(patients[0])&_count=2"
            var pages: [Data] = []
            while let current = path {
                let reply = try await hub.send("GET", current, presenting: pki.regulator)
                #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
                pages.append(Data(reply.body))
                let page = try jsonObject(reply)
                events += ((page["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
                let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
            }
            let expected = records.filter { $0.patient == patients[0] }
            #expect(events.count == expected.count)
            #expect(Set(events.compactMap { $0["id"] as? String }) == Set(expected.map(\.id)))
            #expect(events.contains { ($0["subtype"] as? [[String: Any]])?.first?["code"] as? String == "read" })
            do {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auditevents-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                var paths: [String] = []
                for (number, page) in pages.enumerated() {
                    let file = "\(directory)/page-\(number).json"
                    try page.write(to: URL(fileURLWithPath: file))
                    paths.append(file)
                }
                let output = try await TestPeer.run("fhir_validate.py", paths)
                #expect(output.status == 0, "\(output.standardOutput)\(output.standardError)")
            }
            // By the requesting system, and by time.
            let client = try #require(read.caller.client)
            let byAgent = try jsonObject(try await hub.send("GET", "/fhir/AuditEvent?agent=\(client)&_count=1000", presenting: pki.regulator))
            let agentEvents = ((byAgent["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
            // The requests since the checkpoint (these searches among them) are audited too and
            // may be integrated by now: every record the checkpoint covers is there, and only
            // this client's.
            let agentIDs = Set(agentEvents.compactMap { $0["id"] as? String })
            #expect(agentIDs.isSuperset(of: records.filter { $0.caller.client == client }.map(\.id)))
            #expect(agentIDs.isDisjoint(with: records.filter { $0.caller.client != client }.map(\.id)))
            let old = try jsonObject(try await hub.send("GET", "/fhir/AuditEvent?date=lt2000-01-01&_count=1000", presenting: pki.regulator))
            #expect(old["entry"] == nil)
            let recent = try jsonObject(try await hub.send("GET", "/fhir/AuditEvent?date=ge2000-01-01&_count=1000", presenting: pki.regulator))
            #expect(((recent["entry"] as? [[String: Any]]) ?? []).count >= records.count)
            #expect(try await hub.send("GET", "/fhir/AuditEvent?date=eq2026-01-01", presenting: pki.regulator).status == 400)
            #expect(
                try await hub.send(
                    "POST", "/fhir/AuditEvent", headers: Self.json, body: Array(#"{"resourceType":"AuditEvent"}"#.utf8), presenting: pki.regulator
                ).status >= 400)
            #expect(try await hub.send("GET", "/fhir/AuditEvent?code=x", presenting: pki.regulator).status == 400)
            // One AuditEvent read by its id: the same event the search gave, with its leaf index.
            let sample = try #require(events.first)
            let sampleID = try #require(sample["id"] as? String)
            let readReply = try await hub.send("GET", "/fhir/AuditEvent/\(sampleID)", presenting: pki.regulator)
            #expect(readReply.status == 200, "\(readReply.text)")
            let readEvent = try jsonObject(readReply)
            #expect(readEvent["id"] as? String == sampleID)
            #expect(NSDictionary(dictionary: readEvent).isEqual(to: sample))
            let unknown = try await hub.send("GET", "/fhir/AuditEvent/\(UUID().uuidString.lowercased())", presenting: pki.regulator)
            #expect(unknown.status == 404)
            #expect(try jsonObject(unknown)["resourceType"] as? String == "OperationOutcome")
            #expect(try await hub.send("GET", "/fhir/AuditEvent/\(sampleID)", presenting: pki).status == 403, "regulators only")

            // No identifier of a patient anywhere in the log.
            for record in records {
                let text = String(decoding: record.leafBytes, as: UTF8.self)
                for residentID in residentIDs { #expect(!text.contains(residentID)) }
            }
        }
    }

    @Test func withoutAnAuditTrailNothingIsAnsweredOrWritten() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 42)
            let created = try jsonObject(
                try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: pki))
            let id = try #require(created["id"] as? String)
            let url = try #require(hub.configuration.database.url)
            try await TestDatabase.execute(url, "ALTER TABLE audit_queue RENAME TO audit_queue_unavailable")
            let read = try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki)
            #expect(read.status == 503)
            #expect(!String(decoding: read.body, as: UTF8.self).contains(id + "\",\"meta\""))
            #expect(try jsonObject(read)["resourceType"] as? String == "OperationOutcome")
            let write = try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: pki)
            #expect(write.status >= 500)
            #expect(try await TestDatabase.strings(url, "SELECT count(*)::text FROM resources WHERE type = 'Patient'") == ["1"])
            try await TestDatabase.execute(url, "ALTER TABLE audit_queue_unavailable RENAME TO audit_queue")
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki).status == 200)
        }
    }

    @Test func proofsAndCheckpointsAreServed() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            for _ in 0..<5 { _ = try await hub.send("GET", "/fhir/Patient?_count=1", presenting: pki) }
            let first = try SignedCheckpoint(
                note: String(decoding: try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator).body, as: UTF8.self))
            for _ in 0..<4 { _ = try await hub.send("GET", "/fhir/Observation?_count=1", presenting: pki) }
            let second = try SignedCheckpoint(
                note: String(decoding: try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator).body, as: UTF8.self))
            #expect(second.checkpoint.size > first.checkpoint.size)
            let latest = try await hub.send("GET", "/audit/checkpoint", presenting: pki.regulator)
            #expect(try SignedCheckpoint(note: String(decoding: latest.body, as: UTF8.self)).checkpoint.size >= second.checkpoint.size)
            let tree = MerkleTree(hash: try SM3())

            let consistency = try jsonObject(
                try await hub.send(
                    "GET", "/audit/proof/consistency?from=\(first.checkpoint.size)&to=\(second.checkpoint.size)", presenting: pki.regulator
                ))
            let path = ((consistency["hashes"] as? [String]) ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
            #expect(
                tree.verifyConsistency(
                    oldSize: first.checkpoint.size, newSize: second.checkpoint.size,
                    oldRoot: first.checkpoint.rootHash, newRoot: second.checkpoint.rootHash, proof: path
                ))
            let segment = try JSONDecoder().decode(
                AuditLogSegment.self,
                from: Data(
                    try await hub.send("GET", "/audit/log/segment?start=2&end=3&size=\(second.checkpoint.size)", presenting: pki.regulator).body)
            )
            let leaf = try tree.leafHash(Array(segment.records[0].utf8))
            let inclusion = try jsonObject(
                try await hub.send("GET", "/audit/proof/inclusion?index=2&size=\(second.checkpoint.size)", presenting: pki.regulator))
            let steps = ((inclusion["hashes"] as? [String]) ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
            #expect(tree.verifyInclusion(leafHash: leaf, index: 2, size: second.checkpoint.size, proof: steps, root: second.checkpoint.rootHash))

            #expect(try await hub.send("GET", "/audit/checkpoint").status == 401)
            #expect(try await hub.send("GET", "/audit/proof/inclusion?index=9&size=3", presenting: pki.regulator).status == 400)
            #expect(try await hub.send("GET", "/audit/log/segment?start=0&end=999999", presenting: pki.regulator).status == 413)
            #expect(try await hub.send("GET", "/audit/checkpoint?size=999999", presenting: pki.regulator).status == 404)
            for path in ["/audit/proof/inclusion?index=0&size=999999", "/audit/proof/consistency?from=1&to=999999"] {
                let beyond = try await hub.send("GET", path, presenting: pki.regulator)
                #expect(beyond.status == 404, "\(path)")
                #expect(String(decoding: beyond.body, as: UTF8.self).contains("fewer than 999999"))
            }
        }
    }
}
