import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Results shared across hospitals (issue #6): `Observation/$lastn` across organizations, each
/// result naming its performer, recognised ones tagged.
@Suite struct ResultSharingTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func observation(patient: String, loinc: String, value: String, daysAgo: Double, performer: String) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        let time = formatter.string(from: Date().addingTimeInterval(-daysAgo * 86_400))
        return Array(
            #"""
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
             "code":{"coding":[{"system":"http://loinc.org","code":"\#(loinc)"}]},"subject":{"reference":"Patient/\#(patient)"},
             "effectiveDateTime":"\#(time)","performer":[{"reference":"\#(performer)"}],
             "valueQuantity":{"value":\#(value),"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}
            """#.utf8)
    }

    static func recognised(_ resource: [String: Any]) -> Bool {
        ((resource["meta"] as? [String: Any])?["tag"] as? [[String: Any]])?.contains { $0["code"] as? String == "recognized" } == true
    }

    @Test func theLatestResultsPerCodeComeFromEveryOrganizationTaggedWhenRecognised() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 97)
            let person = people.person()
            let patient = try #require(
                try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(person).utf8), presenting: pki))[
                        "id"] as? String)
            // B registers the patient by the ID card and records its own potassium result.
            let registered = try await hub.send(
                "POST", "/fhir/Patient", headers: Self.json + [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(person.residentID)")],
                body: Array(people.patientJSON(person).utf8), presenting: pki.otherHospital
            )
            #expect(registered.status == 200)
            let a = "Organization/\(TestHub.Identities.hospital)"
            for (loinc, value, days, performer, caller) in [
                ("2345-7", "5.1", 1.0, a, pki), ("2345-7", "6.3", 3.0, a, pki), ("2345-7", "4.8", 30.0, a, pki),
                ("2823-3", "4.1", 2.0, "Organization/county-clinic", pki.otherHospital),
            ] {
                let created = try await hub.send(
                    "POST", "/fhir/Observation", headers: Self.json,
                    body: Self.observation(patient: patient, loinc: loinc, value: value, daysAgo: days, performer: performer), presenting: caller)
                #expect(created.status == 201, "\(created.text)")
            }

            func lastn(_ query: String, as caller: TestPKI) async throws -> [[String: Any]] {
                let reply = try await hub.send("GET", "/fhir/Observation/$lastn?patient=\(patient)\(query)", presenting: caller)
                #expect(reply.status == 200, "\(reply.text)")
                return ((try jsonObject(reply)["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
            }
            func value(_ resource: [String: Any]) -> Double? { (resource["valueQuantity"] as? [String: Any])?["value"] as? Double }

            // Hospital A sees B's result too (A registered the patient), and B sees A's.
            for caller in [pki, pki.otherHospital] {
                let latest = try await lastn("", as: caller)
                #expect(latest.count == 2)
                let glucose = try #require(latest.first { value($0) == 5.1 })
                #expect(Self.recognised(glucose))
                let potassium = try #require(latest.first { value($0) == 4.1 })
                #expect(((potassium["performer"] as? [[String: Any]])?.first?["reference"]) as? String == "Organization/county-clinic")
                #expect(!Self.recognised(potassium), "the county clinic is not an accredited laboratory in the policy")
            }
            let three = try await lastn("&max=3", as: pki)
            #expect(three.count == 4)
            let old = try #require(three.first { value($0) == 4.8 })
            #expect(!Self.recognised(old), "30 days is beyond the 7 days glucose stays recognised")
            #expect(try await lastn("&code=http://loinc.org|2823-3&max=5", as: pki).count == 1)
            // Plain search tags the same way.
            let searched = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&code=2345-7", presenting: pki))
            let tagged = ((searched["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }.filter(Self.recognised)
            #expect(tagged.count == 2)
            #expect(try await hub.send("GET", "/fhir/Observation/$lastn?patient=no-such-patient", presenting: pki).status == 404)
            #expect(try await hub.send("GET", "/fhir/Observation/$lastn", presenting: pki).status == 400)
        }
    }
}
