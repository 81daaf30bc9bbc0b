import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct MetadataRoutesTests {
    @Test func servesACapabilityStatementAsFHIRJSON() async throws {
        try await withHub { hub in
            let reply = try await hub.send("GET", "/fhir/metadata")
            #expect(reply.status == 200)
            #expect(reply.header("content-type") == "application/fhir+json; charset=utf-8")
            let statement = try jsonObject(reply)
            #expect(statement["resourceType"] as? String == "CapabilityStatement")
            #expect(statement["fhirVersion"] as? String == "4.0.1")
            #expect(statement["status"] as? String == "active")
            #expect((statement["software"] as? [String: Any])?["version"] as? String == HubVersion.current)
            #expect((statement["date"] as? String)?.hasSuffix("Z") == true)
        }
    }
}
