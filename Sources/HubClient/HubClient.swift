import AsyncHTTPClient
import Foundation
import HubConfig
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTPS client for one hub: what `hubctl` (and the tests) use to call it.
///
/// The server certificate is always verified — against `caCertificate` when given (a private
/// hub CA), otherwise against the system's trust store. There is no option to skip verification.
public final class HubClient: Sendable {
    /// Where the hub is and how to trust it.
    public struct Configuration: Sendable {
        /// `https://host:port`, without a trailing slash.
        public var serverURL: String
        /// PEM file of the CA that signed the hub's certificate; nil uses the system trust store.
        public var caCertificate: String?
        /// PEM files of a client certificate and key, for hubs that require mutual TLS.
        public var clientCertificate: String?
        public var clientKey: String?
        /// A bearer token sent with every request (`Authorization: Bearer …`), if any.
        public var bearerToken: String?
        /// Limit for one request, connection included.
        public var timeout: Duration = .seconds(10)
        /// Connections kept open to the hub (keep-alive); concurrent requests beyond wait.
        public var maximumConnections = 8
        /// Whether redirects are followed. The hub's outgoing notifications do not: a
        /// subscriber's endpoint is where they go, nowhere else.
        public var followsRedirects = true
        /// The largest response body read; the rest is refused.
        public var maximumResponseBytes = 64 * 1024 * 1024
        /// Host names connected to at a given address instead of resolving them again (the
        /// certificate is still checked for the name): the outgoing notifications connect to
        /// the very address they checked, so a name that changes its answer meanwhile (DNS
        /// rebinding) cannot send them elsewhere.
        public var pinnedAddresses: [String: String] = [:]

        public init(serverURL: String, caCertificate: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil) {
            self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
            self.caCertificate = caCertificate
            self.clientCertificate = clientCertificate
            self.clientKey = clientKey
        }
    }

    /// A response with its body collected.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        public var text: String { String(decoding: self.body, as: UTF8.self) }
    }

    public enum ClientError: Error, Sendable, CustomStringConvertible {
        case unreadableFile(setting: String, path: String)
        case transport(String)

        public var description: String {
            switch self {
            case .unreadableFile(let setting, let path): "cannot use \(setting) file \(path)"
            case .transport(let message): message
            }
        }
    }

    public let configuration: Configuration
    private let http: HTTPClient
    /// Largest body read from the hub (audit reports can be large).

    public init(configuration: Configuration) throws(ClientError) {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = configuration.caCertificate {
            guard let roots = try? NIOSSLCertificate.fromPEMFile(ca), !roots.isEmpty else {
                throw .unreadableFile(setting: "CA certificate", path: ca)
            }
            tls.trustRoots = .certificates(roots)
        }
        if let certificatePath = configuration.clientCertificate {
            guard let chain = try? NIOSSLCertificate.fromPEMFile(certificatePath), !chain.isEmpty else {
                throw .unreadableFile(setting: "client certificate", path: certificatePath)
            }
            let keyPath = configuration.clientKey ?? certificatePath
            guard let key = try? NIOSSLPrivateKey(file: keyPath, format: .pem) else {
                throw .unreadableFile(setting: "client key", path: keyPath)
            }
            tls.certificateChain = chain.map { .certificate($0) }
            tls.privateKey = .privateKey(key)
        }
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        // The connection is part of the request's limit: a handshake may wait behind others on a
        // busy server, and a client that allows a request a minute allows its connection as long.
        httpConfiguration.timeout = .init(connect: .nanoseconds(configuration.timeout.wholeNanoseconds))
        httpConfiguration.dnsOverride = configuration.pinnedAddresses
        if !configuration.followsRedirects { httpConfiguration.redirectConfiguration = .disallow }
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = configuration.maximumConnections
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// Sends a request to `path` (which starts with `/`) and collects the reply.
    public func send(
        _ method: String = "GET",
        _ path: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) async throws(ClientError) -> Reply {
        try await self.send(method, url: self.configuration.serverURL + path, headers: headers, body: body)
    }

    /// Sends one request to an absolute `url` (with this client's TLS settings and token).
    public func send(
        _ method: String = "GET",
        url: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) async throws(ClientError) -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let token = self.configuration.bearerToken, !headers.contains(where: { $0.0.lowercased() == "authorization" }) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await self.http.execute(request, timeout: .nanoseconds(self.configuration.timeout.wholeNanoseconds))
            let collected = try await response.body.collect(upTo: self.configuration.maximumResponseBytes)
            return Reply(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer: collected)
            )
        } catch {
            throw .transport(Self.explain(error))
        }
    }

    /// Closes connections. Call once, before the client goes away.
    public func shutdown() async throws {
        try await self.http.shutdown()
    }

    /// One line a person can act on, instead of a NIO error dump.
    static func explain(_ error: any Error) -> String {
        if let sslError = error as? NIOSSLError {
            return "TLS failed: \(sslError)"
        }
        if let boringError = error as? BoringSSLError {
            return "TLS failed: \(boringError)"
        }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout: return "connection timed out"
            case .deadlineExceeded: return "request timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "request failed: \(clientError)"
            }
        }
        return "request failed: \(error)"
    }
}
