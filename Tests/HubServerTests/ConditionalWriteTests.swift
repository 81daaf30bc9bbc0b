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
            // If-Match names a version the client saw: with nothing matching, no record is created.
            #expect(
                try await hub.send(
                    "PUT", "/fhir/Observation?identifier=none%7Cnone", headers: Self.json + [("If-Match", "W/\"1\"")],
                    body: Self.observation(patient, accession: "LAB-76", value: "1"), presenting: pki
                ).status == 412)
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

    /// The upsert integration engines send: `PUT Type?identifier=…` inside a transaction, with
    /// references to its fullUrl resolving to the record it matched or created; conditional
    /// DELETE entries; more than one match fails the whole transaction.
    @Test func transactionEntriesUpdateAndDeleteByCriteria() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 516, presenting: pki)
            func observation(_ accession: String, _ value: String) -> String {
                String(decoding: Self.observation(patient, accession: accession, value: value), as: UTF8.self)
            }
            func transaction(_ entries: [String]) -> [UInt8] {
                Array(#"{"resourceType":"Bundle","type":"transaction","entry":[\#(entries.joined(separator: ","))]}"#.utf8)
            }
            let report = #"""
                {"fullUrl":"urn:uuid:6f1c2a9e-0b7d-4e55-8a3c-2d9b7f1e4c10","resource":{"resourceType":"DiagnosticReport","status":"final",
                 "code":{"coding":[{"system":"http://loinc.org","code":"24323-8"}]},"subject":{"reference":"Patient/\#(patient)"},
                 "result":[{"reference":"urn:uuid:2b8e4f7a-1c3d-4a5b-9e6f-7a8b9c0d1e2f"}]},"request":{"method":"POST","url":"DiagnosticReport"}}
                """#
            let upsert = { (value: String) in
                #"{"fullUrl":"urn:uuid:2b8e4f7a-1c3d-4a5b-9e6f-7a8b9c0d1e2f","resource":\#(observation("LAB-88", value)),"request":{"method":"PUT","url":"Observation?identifier=urn:oid:2.16.156.1%7CLAB-88"}}"#
            }
            // No match: the entry creates, and the report's reference resolves to it.
            let first = try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([upsert("5.1"), report]), presenting: pki)
            #expect(first.status == 200, "\(first.text)")
            let entries = try #require(try jsonObject(first)["entry"] as? [[String: Any]])
            #expect((entries[0]["response"] as? [String: Any])?["status"] as? String == "201 Created")
            let created = try #require((entries[0]["resource"] as? [String: Any])?["id"] as? String)
            let result = ((entries[1]["resource"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["reference"] as? String
            #expect(result == "Observation/\(created)")
            // One match: the same record is updated, and the new report points at it too.
            let second = try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([upsert("5.6"), report]), presenting: pki)
            #expect(second.status == 200, "\(second.text)")
            let again = try #require(try jsonObject(second)["entry"] as? [[String: Any]])
            #expect((again[0]["response"] as? [String: Any])?["status"] as? String == "200 OK")
            #expect((again[0]["resource"] as? [String: Any])?["id"] as? String == created)
            #expect((again[0]["response"] as? [String: Any])?["etag"] as? String == "W/\"2\"")
            // More than one match fails the whole transaction: nothing of it is written.
            _ = try await hub.send(
                "POST", "/fhir/Observation", headers: Self.json, body: Self.observation(patient, accession: "LAB-89", value: "4.0"), presenting: pki)
            let ambiguous = #"{"resource":\#(observation("LAB-90", "1")),"request":{"method":"PUT","url":"Observation?code=2345-7"}}"#
            let newPatient =
                #"{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(patient)"}},"request":{"method":"POST","url":"Observation"}}"#
            @Sendable func failures() async throws -> Int {
                let events = try jsonObject(try await hub.send("GET", "/fhir/AuditEvent?patient=\(patient)&_count=1000", presenting: pki.regulator))
                return ((events["entry"] as? [[String: Any]]) ?? []).filter { (($0["resource"] as? [String: Any])?["outcome"] as? String) != "0" }
                    .count
            }
            let failuresBefore = try await failures()
            let failed = try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([newPatient, ambiguous]), presenting: pki)
            #expect(failed.status == 412, "\(failed.text)")
            // The failed transaction is in the patient's audit trail: its criteria reached them.
            #expect(try await eventually { try await failures() > failuresBefore })
            let count = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 2)
            // A conditional delete entry: one match deleted; another hospital's matches nothing.
            let delete = #"{"request":{"method":"DELETE","url":"Observation?identifier=urn:oid:2.16.156.1%7CLAB-88"}}"#
            let foreign = try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([delete]), presenting: pki.otherHospital)
            #expect(foreign.status == 200, "\(foreign.text)")
            #expect(try await hub.send("GET", "/fhir/Observation/\(created)", presenting: pki).status == 200)
            let deleted = try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([delete]), presenting: pki)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(try await hub.send("GET", "/fhir/Observation/\(created)", presenting: pki).status == 410)
            // Two entries writing one record, or creating by the same criteria, fail the Bundle;
            // an ifMatch on an upsert that matches nothing is 412.
            let twice =
                #"{"resource":\#(observation("LAB-89", "2")),"request":{"method":"PUT","url":"Observation?identifier=urn:oid:2.16.156.1%7CLAB-89"}}"#
            #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([twice, twice]), presenting: pki).status == 400)
            let fresh =
                #"{"resource":\#(observation("LAB-93", "2")),"request":{"method":"PUT","url":"Observation?identifier=urn:oid:2.16.156.1%7CLAB-93"}}"#
            #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([fresh, fresh]), presenting: pki).status == 400)
            let post =
                #"{"resource":\#(observation("LAB-94", "2")),"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=urn:oid:2.16.156.1%7CLAB-94"}}"#
            #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([post, post]), presenting: pki).status == 400)
            let versioned = fresh.replacingOccurrences(of: #""request":{"#, with: #""request":{"ifMatch":"W/\"1\"","#)
            #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([versioned]), presenting: pki).status == 412)
            // Criteria only where they mean something; an id in a create-by-criteria is refused.
            for bad in [
                #"{"request":{"method":"GET","url":"Observation/x?code=1"}}"#,
                #"{"request":{"method":"DELETE","url":"Observation?_count=1"}}"#,
                #"{"request":{"method":"DELETE","url":"Observation/x?code=1"}}"#,
                #"{"resource":{"resourceType":"Observation","id":"mine","status":"final","code":{"text":"x"}},"request":{"method":"PUT","url":"Observation?identifier=none%7Cnone"}}"#,
            ] {
                #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: transaction([bad]), presenting: pki).status == 400, "\(bad)")
            }
        }
    }

    /// Conditional patch: `PATCH Type?criteria` patches the one match (404 for none, 412 for
    /// more), with If-Match as on a plain PATCH.
    @Test func patchesByCriteria() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 517, presenting: pki)
            let created = try await hub.send(
                "POST", "/fhir/Observation", headers: Self.json, body: Self.observation(patient, accession: "LAB-91", value: "5.1"), presenting: pki)
            let id = try #require(try jsonObject(created)["id"] as? String)
            let patch = [("Content-Type", "application/json-patch+json")]
            let body = Array(#"[{"op":"replace","path":"/status","value":"amended"}]"#.utf8)
            let patched = try await hub.send(
                "PATCH", "/fhir/Observation?identifier=urn:oid:2.16.156.1%7CLAB-91", headers: patch, body: body, presenting: pki)
            #expect(patched.status == 200, "\(patched.text)")
            #expect(try jsonObject(patched)["id"] as? String == id && (try jsonObject(patched)["status"] as? String) == "amended")
            #expect(
                try await hub.send(
                    "PATCH", "/fhir/Observation?identifier=urn:oid:2.16.156.1%7CLAB-91", headers: patch + [("If-Match", "W/\"1\"")], body: body,
                    presenting: pki
                ).status == 412)
            #expect(
                try await hub.send("PATCH", "/fhir/Observation?identifier=none%7Cnone", headers: patch, body: body, presenting: pki).status == 404)
            _ = try await hub.send(
                "POST", "/fhir/Observation", headers: Self.json, body: Self.observation(patient, accession: "LAB-92", value: "4.0"), presenting: pki)
            #expect(try await hub.send("PATCH", "/fhir/Observation?code=2345-7", headers: patch, body: body, presenting: pki).status == 412)
            #expect(try await hub.send("PATCH", "/fhir/Observation", headers: patch, body: body, presenting: pki).status == 400)
            // Another hospital's criteria find nothing it may not see.
            #expect(
                try await hub.send(
                    "PATCH", "/fhir/Observation?identifier=urn:oid:2.16.156.1%7CLAB-91", headers: patch, body: body, presenting: pki.otherHospital
                ).status == 404)
        }
    }
}
