import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct ErrorResponseMiddlewareTests {
    @Test func unknownFHIRPathsAnswerWithAnOperationOutcome() async throws {
        try await withHub { hub in
            let reply = try await hub.send("GET", "/fhir/Patient/123/_history/1/extra")
            #expect(reply.status == 404)
            #expect(reply.header("content-type") == "application/fhir+json; charset=utf-8")
            let outcome = try jsonObject(reply)
            #expect(outcome["resourceType"] as? String == "OperationOutcome")
            let issue = (outcome["issue"] as? [[String: Any]])?.first
            #expect(issue?["severity"] as? String == "error")
            #expect(issue?["code"] as? String == "not-found")
        }
    }

    @Test func unknownPathsElsewhereAnswerWithAJSONError() async throws {
        try await withHub { hub in
            let reply = try await hub.send("DELETE", "/nowhere")
            #expect(reply.status == 404)
            #expect(reply.header("content-type") == "application/json; charset=utf-8")
            let error = try jsonObject(reply)["error"] as? [String: Any]
            #expect(error?["status"] as? Int == 404)
            #expect(error?["code"] as? String == "not-found")
        }
    }
}
