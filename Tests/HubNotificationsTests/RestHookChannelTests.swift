import Foundation
import HubConfig
import HubWorkflows
import Testing

@testable import HubNotifications

/// At delivery the channel checks the endpoint again — its literal address, or what its name
/// resolves to — and refuses internal addresses before any connection (loopback only here).
@Suite struct RestHookChannelTests {
    @Test func internalEndpointsAreRefusedBeforeConnecting() async throws {
        let channel = try RestHookChannel(trustRoots: nil, timeout: .seconds(2), addresses: OutboundAddressPolicy())
        for endpoint in ["https://127.0.0.1:9/hook", "https://localhost:9/hook", "https://[::1]:9/hook", "https://127.1:9/hook"] {
            let url = try #require(URL(string: endpoint))
            await #expect(throws: OutboundAddressPolicy.Refusal.self, "\(endpoint)") {
                _ = try await channel.post(to: url, headers: [], body: nil)
            }
        }
        // A name is judged on the addresses it resolves to: localhost's are loopback.
        let resolved = await IPAddress.resolve("localhost")
        #expect(!resolved.isEmpty)
        #expect(resolved.allSatisfy { OutboundAddressPolicy().refusal($0) != nil }, "\(resolved)")
        try await channel.shutdown()
    }
}
