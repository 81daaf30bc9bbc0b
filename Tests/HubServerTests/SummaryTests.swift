import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// `_summary` on searches and reads: true (R4's summary elements), text (text, id, meta and the
/// mandatory elements), data (all but text), false (all), count.
@Suite struct SummaryTests {
    static let json = [("Content-Type", "application/fhir+json")]

    @Test func summariesKeepWhatR4Says() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 616, presenting: pki)
            let body = #"""
                {"resourceType":"Observation","status":"final","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">血糖 5.1</div>"},
                 "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/\#(patient)"},
                 "effectiveDateTime":"2026-11-20T08:00:00+08:00","valueQuantity":{"value":5.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},
                 "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}],
                 "note":[{"text":"空腹"}],
                 "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"valueQuantity":{"value":5.1,"code":"mmol/L"},
                               "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}]}
                """#
            let created = try jsonObject(try await hub.send("POST", "/fhir/Observation", headers: Self.json, body: Array(body.utf8), presenting: pki))
            let id = try #require(created["id"] as? String)
            func searched(_ summary: String) async throws -> [String: Any] {
                let bundle = try jsonObject(try await hub.send("GET", "/fhir/Observation?_id=\(id)&_summary=\(summary)", presenting: pki))
                return try #require(((bundle["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
            }
            func subsetted(_ resource: [String: Any]) -> Bool {
                (((resource["meta"] as? [String: Any])?["tag"] as? [[String: Any]]) ?? []).contains { $0["code"] as? String == "SUBSETTED" }
            }
            let text = try await searched("text")
            #expect(Set(text.keys) == ["resourceType", "id", "meta", "text", "status", "code"], "\(text.keys.sorted())")
            #expect(subsetted(text))
            let data = try await searched("data")
            #expect(data["text"] == nil && data["valueQuantity"] != nil && data["subject"] != nil && subsetted(data))
            // true: what R4 marks as summary, inside a component too (its code and value, not
            // its interpretation); a data type (the quantity) whole.
            let summary = try await searched("true")
            #expect(
                Set(summary.keys) == ["resourceType", "id", "meta", "status", "code", "subject", "effectiveDateTime", "valueQuantity", "component"],
                "\(summary.keys.sorted())")
            let component = try #require((summary["component"] as? [[String: Any]])?.first)
            #expect(Set(component.keys) == ["code", "valueQuantity"], "\(component.keys.sorted())")
            #expect((summary["valueQuantity"] as? [String: Any])?["unit"] as? String == "mmol/L")
            #expect(subsetted(summary))
            let readSummary = try jsonObject(try await hub.send("GET", "/fhir/Observation/\(id)?_summary=true", presenting: pki))
            #expect(readSummary["note"] == nil && readSummary["valueQuantity"] != nil && subsetted(readSummary))
            let full = try await searched("false")
            #expect(full["text"] != nil && full["valueQuantity"] != nil && !subsetted(full))
            // Included resources are summarised too.
            let withPatient = try jsonObject(
                try await hub.send("GET", "/fhir/Observation?_id=\(id)&_include=Observation:subject&_summary=data", presenting: pki))
            let included = ((withPatient["entry"] as? [[String: Any]]) ?? []).filter {
                ($0["search"] as? [String: Any])?["mode"] as? String == "include"
            }
            #expect(included.count == 1 && included.allSatisfy { subsetted(($0["resource"] as? [String: Any]) ?? [:]) })
            // On a read too.
            let read = try jsonObject(try await hub.send("GET", "/fhir/Observation/\(id)?_summary=data", presenting: pki))
            #expect(read["text"] == nil && subsetted(read))
            // A part is never written back as the whole.
            let writtenBack = try await hub.send(
                "PUT", "/fhir/Observation/\(id)", headers: Self.json + [("If-Match", "W/\"1\"")],
                body: Array(try JSONSerialization.data(withJSONObject: read)), presenting: pki)
            #expect(writtenBack.status == 422, "\(writtenBack.text)")
            for refused in ["/fhir/Observation/\(id)?_summary=count", "/fhir/Observation?_summary=maybe"] {
                let reply = try await hub.send("GET", refused, presenting: pki)
                #expect(reply.status == 400, "\(refused)")
                #expect(try jsonObject(reply)["resourceType"] as? String == "OperationOutcome")
            }
        }
    }
}
