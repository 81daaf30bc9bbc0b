import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// CDA documents in DocumentReferences (issue #6): checked well-formed by libxml2, filed under
/// the patient their header names, with type, date, author and custodian taken from the header.
@Suite struct ClinicalDocumentTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func documentReference(_ xml: String, subject: String? = nil, typeCode: String? = nil, contentType: String = "application/hl7-cda+xml")
        -> [UInt8]
    {
        var body: [String: Any] = [
            "resourceType": "DocumentReference", "status": "current",
            "content": [
                ["attachment": ["contentType": contentType, "language": "zh-CN", "data": Data(xml.utf8).base64EncodedString(), "title": "出院小结"]]
            ],
        ]
        if let subject { body["subject"] = ["reference": subject] }
        if let typeCode { body["type"] = ["coding": [["system": "urn:oid:2.16.156.10011.2.4", "code": typeCode]]] }
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }

    @Test func aDischargeSummaryIsFiledFromItsHeader() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 77)
            let person = people.person()
            let stranger = people.person()
            let patient = try #require(
                try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(person).utf8), presenting: pki))[
                        "id"] as? String)
            let other = try #require(
                try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(stranger).utf8), presenting: pki))[
                        "id"] as? String)
            let cda = SyntheticPatients.dischargeSummaryCDA(person, day: "2026-11-28")

            // Without subject, type or date: all taken from the header.
            let created = try await hub.send(
                "POST", "/fhir/DocumentReference", headers: Self.json, body: Self.documentReference(cda), presenting: pki)
            #expect(created.status == 201, "\(created.text)")
            let stored = try jsonObject(created)
            #expect((stored["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(patient)")
            let coding = try #require(((stored["type"] as? [String: Any])?["coding"] as? [[String: Any]])?.first)
            #expect(coding["code"] as? String == "C0032")
            #expect(coding["system"] as? String == "urn:oid:2.16.156.10011.2.4")
            #expect(stored["date"] as? String == "2026-11-28T09:30:00+08:00")
            #expect(stored["description"] as? String == "出院小结")
            #expect(((stored["author"] as? [[String: Any]])?.first?["display"]) as? String == "第一人民医院")
            #expect((stored["custodian"] as? [String: Any])?["display"] as? String == "第一人民医院")
            // Found as the patient's documents, by type; and in the case history.
            let found = try jsonObject(
                try await hub.send("GET", "/fhir/DocumentReference?patient=Patient/\(patient)&type=urn:oid:2.16.156.10011.2.4|C0032", presenting: pki)
            )
            #expect(found["total"] as? Int == 1 || (found["entry"] as? [Any])?.count == 1)
            let everything = try await hub.send("GET", "/fhir/Patient/\(patient)/$everything", presenting: pki)
            #expect(everything.text.contains("DocumentReference"))

            // Contradicting the header: another patient, another type.
            let misfiled = try await hub.send(
                "POST", "/fhir/DocumentReference", headers: Self.json, body: Self.documentReference(cda, subject: "Patient/\(other)"), presenting: pki
            )
            #expect(misfiled.status == 422)
            #expect(misfiled.text.contains("DocumentReference.subject"))
            let mistyped = try await hub.send(
                "POST", "/fhir/DocumentReference", headers: Self.json, body: Self.documentReference(cda, typeCode: "C0001"), presenting: pki)
            #expect(mistyped.status == 422)
            #expect(mistyped.text.contains("DocumentReference.type"))
            // Not well-formed: 422 naming the line; nothing stored.
            let broken = cda.replacingOccurrences(of: "</title>", with: "</titel>")
            let refused = try await hub.send(
                "POST", "/fhir/DocumentReference", headers: Self.json, body: Self.documentReference(broken), presenting: pki)
            #expect(refused.status == 422)
            #expect(refused.text.contains("not well-formed XML at line"), "\(refused.text)")
            #expect(refused.text.contains("DocumentReference.content[0].attachment.data"))
            // A DTD is refused even in plain XML.
            let dtd = #"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#
            #expect(
                try await hub.send(
                    "POST", "/fhir/DocumentReference", headers: Self.json,
                    body: Self.documentReference(dtd, subject: "Patient/\(patient)", contentType: "text/xml"), presenting: pki
                ).status == 422)
            let count = try jsonObject(
                try await hub.send("GET", "/fhir/DocumentReference?patient=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 1)

            // Another hospital cannot file a document for a patient it may not see.
            let elsewhere = try await hub.send(
                "POST", "/fhir/DocumentReference", headers: Self.json, body: Self.documentReference(cda), presenting: pki.otherHospital)
            #expect(elsewhere.status == 422)
            #expect(!elsewhere.text.contains(patient), "the refusal does not reveal the patient")
        }
    }
}
