public import Foundation
import HubClient
import HubConfig
public import HubWorkflows
#if canImport(Glibc)
import Glibc
#endif

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
        self.client = try HubClient(configuration: configuration)
    }

    public func post(to endpoint: URL, headers: [(String, String)], body: [UInt8]?) async throws -> Int {
        guard let host = endpoint.host else { throw RefusedEndpoint(reason: "the endpoint has no host") }
        if let refusal = self.addresses.refusal(host: host) { throw RefusedEndpoint(reason: refusal) }
        if IPAddress(host) == nil {
            for address in try await Self.resolve(host) {
                if let refusal = self.addresses.refusal(address) { throw RefusedEndpoint(reason: "\(host) resolves to \(refusal)") }
            }
        }
        return try await self.client.send("POST", url: endpoint.absoluteString, headers: headers, body: body ?? []).status
    }

    /// An endpoint the hub will not call.
    struct RefusedEndpoint: Error, CustomStringConvertible {
        var reason: String
        var description: String { "refused endpoint: \(self.reason)" }
    }

    /// The addresses `host` resolves to (the system resolver, off the cooperative pool).
    static func resolve(_ host: String) async throws -> [IPAddress] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var results: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &results)
                guard status == 0, let first = results else {
                    continuation.resume(throwing: RefusedEndpoint(reason: "\(host) does not resolve"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [IPAddress] = []
                var next: UnsafeMutablePointer<addrinfo>? = first
                while let entry = next {
                    if let socket = entry.pointee.ai_addr {
                        switch Int32(socket.pointee.sa_family) {
                        case AF_INET:
                            var address = socket.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                            if let ip = IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(ip) }
                        case AF_INET6:
                            var address = socket.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                            if let ip = IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(ip) }
                        default:
                            break
                        }
                    }
                    next = entry.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }
}
