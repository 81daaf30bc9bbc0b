import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Results shared across hospitals (issue #6): `Observation/$lastn` across organizations, each
/// result naming its performer, recognised ones tagged.
@Suite struct ResultSharingTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func observation(
        patient: String, loinc: String, value: String, daysAgo: Double, performer: String, category: String = "laboratory"
    ) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        let time = formatter.string(from: Date().addingTimeInterval(-daysAgo * 86_400))
        return Array(
            #"""
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"\#(category)"}]}],
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

            // R4 $lastn takes Observation's search parameters: a heart rate (vital signs) is
            // found by its category, and the laboratory category leaves it out.
            let heartRate = try await hub.send(
                "POST", "/fhir/Observation", headers: Self.json,
                body: Self.observation(patient: patient, loinc: "8867-4", value: "72", daysAgo: 0.5, performer: a, category: "vital-signs"),
                presenting: pki)
            #expect(heartRate.status == 201, "\(heartRate.text)")
            let vitals = try await lastn("&category=vital-signs", as: pki)
            #expect(vitals.count == 1 && value(vitals[0]) == 72)
            #expect(try await lastn("&category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", as: pki).count == 2)
            #expect(try await lastn("&max=5", as: pki).count == 5)
            // Criteria narrow the candidates before ranking: the latest glucose a week ago or
            // earlier is the one of 30 days.
            let weekAgo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7 * 86_400))
            let earlier = try await lastn("&code=2345-7&date=lt\(weekAgo)", as: pki)
            #expect(earlier.count == 1 && value(earlier[0]) == 4.8)
            #expect(try await lastn("&status=final&code=2345-7&max=2", as: pki).count == 2)
            // Newest first: the heart rate of half a day ago, then glucose of a day ago, …
            let ordered = try await lastn("&max=5", as: pki).compactMap(value)
            #expect(ordered == [72, 5.1, 4.1, 6.3, 4.8], "\(ordered)")
            for refused in [
                "&_sort=date", "&_include=Observation:performer", "&max=0", "&unknown=1", "&date=soon", "&patient=\(patient)", "&_count=3",
            ] {
                let reply = try await hub.send("GET", "/fhir/Observation/$lastn?patient=\(patient)\(refused)", presenting: pki)
                #expect(reply.status == 400, "\(refused): \(reply.text)")
                #expect((try? jsonObject(reply))?["resourceType"] as? String == "OperationOutcome")
            }
        }
    }
}
