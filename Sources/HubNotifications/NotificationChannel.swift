public import Foundation
import HubClient

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
    let client: HubClient

    /// - Parameters:
    ///   - trustRoots: PEM file of the CAs whose endpoints are trusted; nil for the system's.
    ///   - timeout: Per request, connection included.
    public init(trustRoots: String?, timeout: Duration) throws {
        var configuration = HubClient.Configuration(serverURL: "", caCertificate: trustRoots)
        configuration.timeout = timeout
        configuration.followsRedirects = false
        configuration.maximumResponseBytes = 64 * 1024
        configuration.maximumConnections = 4
        self.client = try HubClient(configuration: configuration)
    }

    public func post(to endpoint: URL, headers: [(String, String)], body: [UInt8]?) async throws -> Int {
        try await self.client.send("POST", url: endpoint.absoluteString, headers: headers, body: body ?? []).status
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }
}
