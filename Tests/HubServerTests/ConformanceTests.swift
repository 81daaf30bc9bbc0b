import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Everything the hub answers is checked by an independent FHIR R4 implementation (Python
/// fhir.resources 6.4, FHIR 4.0.1; see Tests/Peers/fhir_validate.py): resources, Bundles of every kind
/// the hub makes, OperationOutcomes and the CapabilityStatement.
@Suite struct ConformanceTests {
    @Test func everyResponseIsValidFHIRR4() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 2026)
            var documents: [String: [UInt8]] = [:]
            func keep(_ name: String, _ reply: HubClient.Reply) { documents[name] = reply.body }
            let json = FHIRResourceRoutesTests.json

            let transaction = FHIRBundleRoutesTests.bundle(
                "transaction",
                FHIRBundleRoutesTests.labResults(patient: patients.patientJSON()) + [
                    #"{"fullUrl":"urn:uuid:e1","resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"urn:uuid:p1"},"period":{"start":"2026-11-30T09:00:00+08:00"}},"request":{"method":"POST","url":"Encounter"}}"#,
                    #"{"resource":{"resourceType":"Organization","name":"市第一人民医院","identifier":[{"system":"urn:health-hub:org","value":"H001"}]},"request":{"method":"POST","url":"Organization"}}"#,
                ])
            let committed = try await hub.send("POST", "/fhir", headers: json, body: transaction, presenting: pki)
            #expect(committed.status == 200, "\(committed.text)")
            keep("transaction-response", committed)
            let entries = (try jsonObject(committed)["entry"] as? [[String: Any]]) ?? []
            let references = entries.compactMap { ($0["response"] as? [String: Any])?["location"] as? String }
                .map { $0.components(separatedBy: "/_history").first ?? $0 }
            for reference in references {
                keep("read-\(reference)", try await hub.send("GET", "/fhir/\(reference)", presenting: pki))
            }
            let patientID = references.first { $0.hasPrefix("Patient/") }.map { String($0.dropFirst("Patient/".count)) } ?? ""
            keep(
                "search",
                try await hub.send("GET", "/fhir/Observation?patient=\(patientID)&code=http://loinc.org|2345-7&_total=accurate", presenting: pki))
            keep("search-elements", try await hub.send("GET", "/fhir/Patient?_elements=gender,birthDate&_id=\(patientID)", presenting: pki))
            keep("search-chained", try await hub.send("GET", "/fhir/Observation?patient.gender=male,female&_sort=-date&_count=1", presenting: pki))
            keep("search-lenient", try await hub.send("GET", "/fhir/Patient?shoe=1", headers: [("Prefer", "handling=lenient")], presenting: pki))
            keep("everything", try await hub.send("GET", "/fhir/Patient/\(patientID)/$everything", presenting: pki))
            keep("history", try await hub.send("GET", "/fhir/Patient/\(patientID)/_history", presenting: pki))
            keep(
                "batch",
                try await hub.send(
                    "POST", "/fhir", headers: json,
                    body: FHIRBundleRoutesTests.bundle("batch", [#"{"request":{"method":"GET","url":"Patient/nope"}}"#]), presenting: pki))
            keep("not-found", try await hub.send("GET", "/fhir/Patient/nope", presenting: pki))
            keep("invalid", try await hub.send("POST", "/fhir/Patient", headers: json, body: Array("{".utf8), presenting: pki))
            keep("metadata", try await hub.send("GET", "/fhir/metadata"))

            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var paths: [String] = []
            for (name, body) in documents {
                let path = folder + "/" + name.replacingOccurrences(of: "/", with: "_") + ".json"
                try Data(body).write(to: URL(fileURLWithPath: path))
                paths.append(path)
            }
            #expect(paths.count >= 16)
            let subset = try #require(documents["search-elements"])
            let subsetText = String(decoding: subset, as: UTF8.self)
            #expect(subsetText.contains("SUBSETTED") && !subsetText.contains("\"identifier\""), "\(subsetText)")
            let output = try await TestPeer.run("fhir_validate.py", paths.sorted())
            #expect(output.status == 0, "\(output.standardOutput)\(output.standardError)")
        }
    }

    /// A standard FHIR client (SMART on FHIR's Python `fhirclient`, R4 models) works against the
    /// hub unchanged: capability statement, create, read, update, search with paging, delete.
    @Test func aStandardFHIRClientWorksUnchanged() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 4301)
            let output = try await TestPeer.run(
                "fhirclient_session.py",
                ["\(hub.url)/fhir", pki.caCertificate, pki.clientCertificate, pki.clientKey, patients.patientJSON()]
            )
            #expect(output.status == 0, "\(output.standardOutput)\(output.standardError)")
            #expect(output.standardOutput.contains("deleted one Observation"), "\(output.standardOutput)")
        }
    }
}
