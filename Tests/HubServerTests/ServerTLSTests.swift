import AsyncHTTPClient
import Foundation
import HubClient
import HubConfig
import HubServer
import HubTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

@Suite struct ServerTLSTests {
    enum Presented: String, CaseIterable, Sendable {
        case none, foreign, trusted
    }

    /// What each mutual-TLS setting does with each kind of client.
    @Test(arguments: [
        (HubConfiguration.ClientAuthentication.off, Presented.none, true),
        (.off, .foreign, true),  // not asked for, so not sent
        (.off, .trusted, true),
        (.optional, .none, true),
        (.optional, .foreign, false),  // sent, so verified, and refused
        (.optional, .trusted, true),
        (.required, .none, false),
        (.required, .foreign, false),
        (.required, .trusted, true),
    ])
    func mutualTLS(mode: HubConfiguration.ClientAuthentication, presented: Presented, accepted: Bool) async throws {
        let foreign = try TestEnvironment.foreignPKI()
        let trusted = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = mode }) { hub in
            let identity: TestPKI? =
                switch presented {
                case .none: nil
                case .foreign: foreign
                case .trusted: trusted
                }
            let result: Result<HubClient.Reply, any Error>
            do {
                result = .success(try await hub.send("GET", "/whoami", presenting: identity))
            } catch {
                result = .failure(error)
            }
            guard accepted else {
                #expect(throws: (any Error).self) { try result.get() }
                return
            }
            let reply = try result.get()
            #expect(reply.status == 200)
            let certificate = try jsonObject(reply)["clientCertificate"] as? [String: Any]
            if mode != .off && presented == .trusted {
                #expect(certificate?["subject"] as? String == "O=Dev Hospital, OU=HIS, CN=dev-hospital-system")
                #expect(certificate?["fingerprintSHA256"] as? String == (try await opensslFingerprint(trusted.clientCertificate)))
            } else {
                #expect(certificate == nil)
            }
        }
    }

    /// Issue #14, DNS rebinding: a pinned name connects to the pinned address and no other (the
    /// certificate still checked for the name) — what a notification does after checking the
    /// addresses its endpoint's name resolved to. Loopback only: the hub listens on 127.0.0.1,
    /// nothing on 127.0.0.2.
    @Test func aPinnedNameConnectsOnlyToThePinnedAddress() async throws {
        try await withHub { hub in
            for (address, reaches) in [("127.0.0.1", true), ("127.0.0.2", false)] {
                var configuration = HubClient.Configuration(serverURL: "https://localhost:\(hub.port)", caCertificate: hub.pki.caCertificate)
                configuration.pinnedAddresses = ["localhost": address]
                configuration.timeout = .seconds(5)
                let client = try HubClient(configuration: configuration)
                let reply = try? await client.send("GET", "/healthz")
                #expect((reply?.status == 200) == reaches, "pinned to \(address): \(String(describing: reply?.status))")
                try await client.shutdown()
            }
        }
    }

    @Test func refusesTLSOlderThan1_2() async throws {
        try await withHub { hub in
            func attempt(maximum: TLSVersion) async -> Bool {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(hub.pki.caCertificate)
                tls.minimumTLSVersion = .tlsv1
                tls.maximumTLSVersion = maximum
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                let ok = (try? await client.execute(HTTPClientRequest(url: hub.url + "/healthz"), timeout: .seconds(5)))?.status.code == 200
                try? await client.shutdown()
                return ok
            }
            #expect(await attempt(maximum: .tlsv11) == false)
            #expect(await attempt(maximum: .tlsv12) == true)
        }
    }

    @Test func badTLSFilesAreConfigurationErrorsNamingTheSetting() throws {
        var settings = HubConfiguration.TLS()
        settings.certificateChain = "/nonexistent/server.crt"
        settings.privateKey = "/nonexistent/server.key"
        let error = #expect(throws: ConfigurationError.self) { _ = try HubServerTLS(settings) }
        #expect(error?.setting == "tls.certificate_chain")
    }
}

/// `ServerTLS.configuration`, spelled as a function for `#expect`.
func HubServerTLS(_ settings: HubConfiguration.TLS) throws -> TLSConfiguration {
    try ServerTLS.configuration(settings)
}

/// The certificate's SHA-256 fingerprint as the openssl command line prints it, normalised.
func opensslFingerprint(_ path: String) async throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "x509", "-in", path, "-noout", "-fingerprint", "-sha256"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self)
    let hex = line.split(separator: "=").last.map(String.init) ?? ""
    return hex.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
}
