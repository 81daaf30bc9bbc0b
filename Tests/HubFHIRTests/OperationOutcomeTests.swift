import Foundation
import HubFHIR
import Testing

@Suite struct OperationOutcomeTests {
    @Test func encodesAsFHIRJSON() throws {
        let outcome = OperationOutcome(code: .notFound, diagnostics: "no such endpoint", expression: ["Patient.id"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(outcome)) as? [String: Any]
        #expect(json?["resourceType"] as? String == "OperationOutcome")
        let issue = (json?["issue"] as? [[String: Any]])?.first
        #expect(issue?["severity"] as? String == "error")
        #expect(issue?["code"] as? String == "not-found")
        #expect(issue?["diagnostics"] as? String == "no such endpoint")
        #expect(issue?["expression"] as? [String] == ["Patient.id"])
    }

    @Test func omitsAbsentOptionalElements() throws {
        // FHIR JSON forbids nulls: absent elements must be left out.
        let outcome = OperationOutcome(issue: [.init(severity: .warning, code: .informational)])
        let text = String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self)
        #expect(!text.contains("null"))
        #expect(!text.contains("diagnostics"))
    }
}

@Suite struct CapabilityStatementTests {
    @Test func describesAnInstanceWithNoResourcesYet() throws {
        let statement = CapabilityStatement.hub(
            softwareVersion: "9.9.9",
            fhirVersion: "4.0.1",
            baseURL: nil,
            date: "2026-11-30T00:00:00Z",
            resources: [],
            mutualTLS: "optional"
        )
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(statement)) as? [String: Any]
        #expect(json?["resourceType"] as? String == "CapabilityStatement")
        #expect(json?["kind"] as? String == "instance")  // so implementation is required (cpb-2)
        #expect((json?["implementation"] as? [String: Any])?["description"] != nil)
        #expect(json?["fhirVersion"] as? String == "4.0.1")
        #expect((json?["format"] as? [String])?.contains("application/fhir+json") == true)
        let rest = (json?["rest"] as? [[String: Any]])?.first
        #expect(rest?["mode"] as? String == "server")  // cpb-1: at least one rest element
        #expect(rest?["resource"] == nil)  // nothing is served yet, so nothing is claimed
        #expect(!String(decoding: try JSONEncoder().encode(statement), as: UTF8.self).contains("null"))
    }
}
