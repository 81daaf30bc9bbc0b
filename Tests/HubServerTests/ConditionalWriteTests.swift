import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Conditional update and delete: `PUT`/`DELETE [type]?[criteria]`, judged on what the caller
/// may see.
@Suite struct ConditionalWriteTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func observation(_ patient: String, accession: String, value: String) -> [UInt8] {
        Array(
            #"""
            {"resourceType":"Observation","status":"final","identifier":[{"system":"urn:oid:2.16.156.1","value":"\#(accession)"}],
             "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/\#(patient)"},
             "effectiveDateTime":"2026-11-20T08:00:00+08:00","valueQuantity":{"value":\#(value),"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}
            """#.utf8)
    }

    @Test func updatesCreatesAndDeletesByCriteria() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 515, presenting: pki)
            let criteria = "identifier=urn:oid:2.16.156.1%7CLAB-77"
            // No match: created, the hub assigning the id.
            let created = try await hub.send(
                "PUT", "/fhir/Observation?\(criteria)", headers: Self.json, body: Self.observation(patient, accession: "LAB-77", value: "5.1"),
                presenting: pki)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(try jsonObject(created)["id"] as? String)
            // One match: updated in place (no id in the body needed), If-Match honoured.
            let updated = try await hub.send(
                "PUT", "/fhir/Observation?\(criteria)", headers: Self.json + [("If-Match", "W/\"1\"")],
                body: Self.observation(patient, accession: "LAB-77", value: "5.4"), presenting: pki)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(try jsonObject(updated)["id"] as? String == id)
            #expect(updated.header("etag") == "W/\"2\"")
            let stale = try await hub.send(
                "PUT", "/fhir/Observation?\(criteria)", headers: Self.json + [("If-Match", "W/\"1\"")],
                body: Self.observation(patient, accession: "LAB-77", value: "5.9"), presenting: pki)
            #expect(stale.status == 412)
            // A body naming another id than the match's, or an id when nothing matches, is refused.
            var named = try #require(
                try JSONSerialization.jsonObject(with: Data(Self.observation(patient, accession: "LAB-77", value: "1"))) as? [String: Any])
            named["id"] = "someone-else"
            let body = Array(try JSONSerialization.data(withJSONObject: named))
            #expect(try await hub.send("PUT", "/fhir/Observation?\(criteria)", headers: Self.json, body: body, presenting: pki).status == 400)
            #expect(
                try await hub.send("PUT", "/fhir/Observation?identifier=none%7Cnone", headers: Self.json, body: body, presenting: pki).status == 400)
            // More than one match: 412, nothing changed.
            _ = try await hub.send(
                "POST", "/fhir/Observation", headers: Self.json, body: Self.observation(patient, accession: "LAB-78", value: "4.0"), presenting: pki)
            let many = try await hub.send(
                "PUT", "/fhir/Observation?code=2345-7", headers: Self.json, body: Self.observation(patient, accession: "LAB-79", value: "1"),
                presenting: pki)
            #expect(many.status == 412)
            #expect(try await hub.send("DELETE", "/fhir/Observation?code=2345-7", presenting: pki).status == 412)
            // Criteria are required, and are search criteria only.
            #expect(try await hub.send("PUT", "/fhir/Observation", headers: Self.json, body: body, presenting: pki).status == 400)
            for extra in ["_count=1", "_summary=count", "_cursor=abc", "_revinclude=Provenance:target", "_total=accurate", "_elements=status"] {
                #expect(try await hub.send("DELETE", "/fhir/Observation?\(criteria)&\(extra)", presenting: pki).status == 400, "\(extra)")
                #expect(
                    try await hub.send(
                        "PUT", "/fhir/Observation?\(criteria)&\(extra)", headers: Self.json,
                        body: Self.observation(patient, accession: "LAB-77", value: "1"), presenting: pki
                    ).status == 400, "\(extra)")
            }
            // Another hospital sees no match: its conditional delete deletes nothing.
            #expect(try await hub.send("DELETE", "/fhir/Observation?\(criteria)", presenting: pki.otherHospital).status == 204)
            #expect(try await hub.send("GET", "/fhir/Observation/\(id)", presenting: pki).status == 200)
            // One match: deleted; again: nothing to delete.
            #expect(try await hub.send("DELETE", "/fhir/Observation?\(criteria)", presenting: pki).status == 204)
            #expect(try await hub.send("GET", "/fhir/Observation/\(id)", presenting: pki).status == 410)
            #expect(try await hub.send("DELETE", "/fhir/Observation?\(criteria)", presenting: pki).status == 204)
        }
    }
}
