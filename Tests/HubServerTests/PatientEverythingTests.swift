import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct PatientEverythingTests {
    @Test func returnsThePatientsCaseHistoryPaged() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 4242)
            let patient = try jsonObject(
                try await hub.send(
                    "POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: Array(patients.patientJSON().utf8), presenting: pki))
            let id = try #require(patient["id"] as? String)
            var observationIDs: [String] = []
            // Written out of clinical order: $everything returns them by their dates.
            for (code, day) in [("2345-7", "2026-03-01"), ("718-7", "2025-06-15"), ("4548-4", "2026-01-10")] {
                let body =
                    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"\#(code)"}]},"subject":{"reference":"Patient/\#(id)"},"effectiveDateTime":"\#(day)T08:00:00+08:00"}"#
                let created = try jsonObject(
                    try await hub.send("POST", "/fhir/Observation", headers: FHIRResourceRoutesTests.json, body: Array(body.utf8), presenting: pki))
                observationIDs.append(try #require(created["id"] as? String))
            }
            _ = try await hub.send(
                "POST", "/fhir/Organization", headers: FHIRResourceRoutesTests.json,
                body: Array(#"{"resourceType":"Organization","name":"外院"}"#.utf8), presenting: pki)
            _ = try await hub.send("DELETE", "/fhir/Observation/\(observationIDs[2])", presenting: pki)

            // Every page, following next links (which carry `_since` and `_type` along).
            func entries(_ query: String) async throws -> [String] {
                var found: [String] = []
                var path: String? = "/fhir/Patient/\(id)/$everything?\(query)"
                while let current = path {
                    let page = try jsonObject(try await hub.send("GET", current, presenting: pki))
                    for entry in page["entry"] as? [[String: Any]] ?? [] {
                        let resource = entry["resource"] as? [String: Any]
                        found.append("\(resource?["resourceType"] as? String ?? "")/\(resource?["id"] as? String ?? "")")
                    }
                    let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                    #expect(next.map { $0.contains("_type=") || !query.contains("_type") } ?? true)
                    path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
                }
                return found
            }
            let seen = try await entries("_count=2")
            // In time order: the Patient (born first), then the 2025 result, then the 2026 one.
            #expect(seen == ["Patient/\(id)", "Observation/\(observationIDs[1])", "Observation/\(observationIDs[0])"])
            #expect(try await hub.send("GET", "/fhir/Patient/unknown/$everything", presenting: pki).status == 404)

            // `_type` keeps some types (the Patient only when named), `_since` what changed since,
            // and both ride along the next link.
            #expect(try await entries("_type=Observation&_count=1") == ["Observation/\(observationIDs[1])", "Observation/\(observationIDs[0])"])
            #expect(try await entries("_type=Patient,Condition") == ["Patient/\(id)"])
            try await Task.sleep(for: .milliseconds(20))
            let since = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            let later =
                #"{"resourceType":"Condition","code":{"text":"高血压"},"subject":{"reference":"Patient/\#(id)"},"recordedDate":"2020-01-01"}"#
            let condition = try jsonObject(
                try await hub.send("POST", "/fhir/Condition", headers: FHIRResourceRoutesTests.json, body: Array(later.utf8), presenting: pki))
            let conditionID = try #require(condition["id"] as? String)
            #expect(try await entries("_since=\(since)&_count=1") == ["Condition/\(conditionID)"])
            for bad in ["_type=Unicorn", "_since=soon", "_sort=date"] {
                #expect(try await hub.send("GET", "/fhir/Patient/\(id)/$everything?\(bad)", presenting: pki).status == 400, "\(bad)")
            }
        }
    }
}
