public import Foundation
import HubClient
import HubConfig
public import HubWorkflows

/// Where notifications go out: an HTTPS POST in production and in the tests alike (the tests run
/// a real receiver); the seam lets the dispatcher be driven without the network's timing.
public protocol NotificationChannel: Sendable {
    /// Posts `body` (nil: an empty POST) to `endpoint`; returns the HTTP status.
    func post(to endpoint: URL, headers: [(String, String)], body: [UInt8]?) async throws -> Int

    /// Releases connections; the channel is not used after.
    func shutdown() async throws
}

/// The rest-hook channel: HTTPS only, no redirects, a deadline per request, the response body
/// read no further than a small limit (it is not used).
public struct RestHookChannel: NotificationChannel {
    let configuration: HubClient.Configuration
    /// For endpoints written as IP addresses: nothing to resolve, nothing to pin.
    let client: HubClient
    let addresses: OutboundAddressPolicy

    /// - Parameters:
    ///   - trustRoots: PEM file of the CAs whose endpoints are trusted; nil for the system's.
    ///   - timeout: Per request, connection included.
    ///   - addresses: Which addresses may be called; checked again here, after the endpoint's
    ///     name is resolved (it may have changed since the subscription was written).
    public init(trustRoots: String?, timeout: Duration, addresses: OutboundAddressPolicy) throws {
        self.addresses = addresses
        var configuration = HubClient.Configuration(serverURL: "", caCertificate: trustRoots)
        configuration.timeout = timeout
        configuration.followsRedirects = false
        configuration.maximumResponseBytes = 64 * 1024
        configuration.maximumConnections = 4
        self.configuration = configuration
        self.client = try HubClient(configuration: configuration)
    }

    /// Resolves the endpoint's name once, checks every address it gives, and connects to the
    /// first of them — not to whatever a second lookup might answer (DNS rebinding).
    public func post(to endpoint: URL, headers: [(String, String)], body: [UInt8]?) async throws -> Int {
        guard let host = endpoint.host else { throw OutboundAddressPolicy.Refusal(reason: "the endpoint has no host") }
        let resolved = try await self.addresses.checkedAddresses(host: host)
        guard IPAddress(host) == nil else {
            return try await self.client.send("POST", url: endpoint.absoluteString, headers: headers, body: body ?? []).status
        }
        // Each checked address in turn (at most four) until one answers: a dual-stack name whose
        // first address is unreachable still gets its notification (at least once, as always).
        var failure: (any Error)?
        for checked in resolved.prefix(4) {
            var pinned = self.configuration
            pinned.pinnedAddresses = [host: checked.description]
            let client = try HubClient(configuration: pinned)
            do {
                let status = try await client.send("POST", url: endpoint.absoluteString, headers: headers, body: body ?? []).status
                try await client.shutdown()
                return status
            } catch {
                try? await client.shutdown()
                failure = error
            }
        }
        throw failure ?? OutboundAddressPolicy.Refusal(reason: "\(host) does not resolve")
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }
}
