import Foundation
import HubFHIR
import HubResources
import HubSynthetic
import HubTestSupport
import HubWorkflows
import Testing

/// CDA intake over the in-memory store (issue #17): what a DocumentReference carrying a CDA
/// document is filed as, in milliseconds and without PostgreSQL. `ClinicalDocumentTests` in
/// HubServerTests runs the same rule over HTTPS and PostgreSQL.
@Suite struct ClinicalDocumentRuleTests {
    static func documentReference(_ cda: String, subject: String? = nil, type: String? = nil, contentType: String = "application/hl7-cda+xml")
        throws -> JSONObject
    {
        let data = Data(cda.utf8).base64EncodedString()
        let subjectMember = subject.map { #""subject":{"reference":"Patient/\#($0)"},"# } ?? ""
        let typeMember = type.map { #""type":{"coding":[{"system":"urn:oid:2.16.156.10011.2.4","code":"\#($0)"}]},"# } ?? ""
        return try WorkflowRulesTests.object(
            #"{"resourceType":"DocumentReference","status":"current",\#(subjectMember)\#(typeMember)"content":[{"attachment":{"contentType":"\#(contentType)","data":"\#(data)"}}]}"#
        )
    }

    @Test func theHeaderDecidesThePatientAndFillsWhatTheReferenceLeavesOut() async throws {
        let (memory, store) = WorkflowRulesTests.store()
        var people = SyntheticPatients(seed: 4242)
        let person = people.person(number: 31)
        let patient = try await store.create(
            try WorkflowRulesTests.object(people.patientJSON(person)), type: .patient, access: .unrestricted, audit: .test
        ).id
        let cda = SyntheticPatients.dischargeSummaryCDA(person, day: "2026-12-01")

        let filed = try await store.create(try Self.documentReference(cda), type: .documentReference, access: .unrestricted, audit: .test)
        let resource = try #require(filed.resource)
        #expect(resource["subject"]?.referencedID("Patient") == patient)
        #expect(resource["type"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue == "C0032")
        #expect(resource["description"]?.stringValue == "出院小结")
        #expect(resource["custodian"]?.objectValue?["display"]?.stringValue == "第一人民医院")
        #expect(filed.patientID == patient)

        // Naming the same patient and type agrees with the header: accepted as written.
        _ = try await store.create(
            try Self.documentReference(cda, subject: patient, type: "C0032"), type: .documentReference, access: .unrestricted, audit: .test)
        #expect(await memory.committed.count == 3)
    }

    @Test func whatContradictsTheHeaderIsRefusedAndNothingIsWritten() async throws {
        let (memory, store) = WorkflowRulesTests.store()
        var people = SyntheticPatients(seed: 4243)
        let person = people.person(number: 32)
        let other = people.person(number: 33)
        _ = try await store.create(try WorkflowRulesTests.object(people.patientJSON(person)), type: .patient, access: .unrestricted, audit: .test)
        let otherID = try await store.create(
            try WorkflowRulesTests.object(people.patientJSON(other)), type: .patient, access: .unrestricted, audit: .test
        ).id
        let cda = SyntheticPatients.dischargeSummaryCDA(person, day: "2026-12-02")
        let before = await memory.committed.count

        let attempts: [(JSONObject, String)] = [
            // Filed under another patient than the header names.
            (try Self.documentReference(cda, subject: otherID), "DocumentReference.subject"),
            // Another document type than the header's.
            (try Self.documentReference(cda, type: "C0001"), "DocumentReference.type"),
            // A patient nobody registered.
            (
                try Self.documentReference(SyntheticPatients.dischargeSummaryCDA(people.person(number: 34), day: "2026-12-02")),
                "DocumentReference.subject"
            ),
            // XML that is not well-formed, and XML with a DTD (no entity expansion, ever).
            (try Self.documentReference("<ClinicalDocument><title>出院小结</ClinicalDocument>"), "DocumentReference.content[0].attachment.data"),
            (
                try Self.documentReference(#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><ClinicalDocument>&e;</ClinicalDocument>"#),
                "DocumentReference.content[0].attachment.data"
            ),
        ]
        for (body, expression) in attempts {
            await #expect {
                try await store.create(body, type: .documentReference, access: .unrestricted, audit: .test)
            } throws: { error in
                guard let error = error as? ResourceError else { return false }
                return error.code == .unprocessable && error.expression == [expression]
            }
        }
        #expect(await memory.committed.count == before)
    }
}
