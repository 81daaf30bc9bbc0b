import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct RequestIDMiddlewareTests {
    @Test func everyResponseCarriesItsOwnRequestID() async throws {
        try await withHub { hub in
            let first = try await hub.send("GET", "/healthz")
            let second = try await hub.send("GET", "/healthz")
            let failed = try await hub.send("GET", "/fhir/Nothing")
            let ids = [first, second, failed].compactMap { $0.header("x-request-id") }
            #expect(ids.count == 3)
            #expect(Set(ids).count == 3)
        }
    }
}
