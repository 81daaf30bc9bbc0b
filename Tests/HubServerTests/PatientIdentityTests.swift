import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct PatientIdentityTests {
    @Test func aResidentIDBelongsToOnePatientUnlessCreatedConditionally() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 1234)
            let body = Array(patients.patientJSON().utf8)
            let first = try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: body, presenting: pki)
            #expect(first.status == 201)
            let id = try #require(try jsonObject(first)["id"] as? String)
            let identifier = try #require(((try jsonObject(first)["identifier"] as? [[String: Any]])?.first?["value"]) as? String)

            // The same person again: 409, pointing to registration, not naming the Patient
            // (the caller may not be allowed to see it).
            let second = try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: body, presenting: pki)
            #expect(second.status == 409)
            let issue = (try jsonObject(second)["issue"] as? [[String: Any]])?.first
            #expect(issue?["code"] as? String == "duplicate")
            #expect((issue?["diagnostics"] as? String)?.contains("If-None-Exist") == true)
            #expect((issue?["diagnostics"] as? String)?.contains(id) == false)

            // As a conditional create: the existing one comes back, nothing new is made.
            let conditional = try await hub.send(
                "POST",
                "/fhir/Patient",
                headers: FHIRResourceRoutesTests.json + [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(identifier)")],
                body: body,
                presenting: pki
            )
            #expect(conditional.status == 200)
            #expect(try jsonObject(conditional)["id"] as? String == id)
            let count = try jsonObject(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 1)

            // Concurrent creates of one new person: exactly one succeeds.
            let newcomer = Array(patients.patientJSON().utf8)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: newcomer, presenting: pki).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 5)
        }
    }
}
