import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// The live audit feed (issue #7): every audit record reaches the repository as a FHIR
/// AuditEvent in an RFC 5424 message over TLS, and a restarted hub carries on where it stopped.
@Suite struct SyslogFeedTests {
    @Test func everyRecordReachesTheRepositoryAlsoAcrossARestart() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = SyslogReceiver()
        try await receiver.whileListening(pki: pki) { port in
            try await TestDatabase.withFresh { url in
                var settings = try Self.feeding(url, port: port, pki: pki)
                settings.audit.syslogAllowedNetworks = []
                // Like a subscriber's endpoint, the repository may be on loopback only if allowed.
                for host in ["127.0.0.1", "localhost", "[::1]", "127.1"] {
                    var refused = settings
                    refused.audit.syslogHost = host
                    let error = await #expect(throws: ConfigurationError.self, "\(host)") { try await TestHub.withRunning(refused) { _ in } }
                    #expect(error?.setting == "audit.syslog_host")
                }
                settings.audit.syslogAllowedNetworks = [try #require(IPNetwork("127.0.0.0/8"))]
                let configuration = settings
                @Sendable func indexes() -> [Int] { Self.indexes(receiver) }
                let first = try await TestHub.withRunning(configuration) { hub in
                    for _ in 0..<5 { _ = try await hub.send("GET", "/fhir/Patient?_count=1", presenting: pki) }
                    #expect(try await hub.send("GET", "/audit/checkpoint", presenting: pki).status == 403)
                    let checkpoint = try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator)
                    let size = try #require(Int(checkpoint.text.split(separator: "\n")[1]))
                    #expect(try await eventually { Set(indexes()).isSuperset(of: 0..<size) }, "\(indexes().count) of \(size)")
                    return size
                }
                // Each message: <PRI>1 TIMESTAMP HOSTNAME health-hub - AuditEvent - BOM {AuditEvent}.
                let message = try #require(receiver.messages.first)
                let header = String(decoding: message.prefix(while: { $0 != 0xEF }), as: UTF8.self)
                #expect(header.hasPrefix("<85>1 ") || header.hasPrefix("<84>1 "), "\(header)")
                #expect(header.contains(" health-hub - AuditEvent - "))
                #expect(receiver.messages.contains { String(decoding: $0, as: UTF8.self).hasPrefix("<84>1 ") }, "the denied request is a warning")

                // A new hub on the same database sends only what is new (a batch may repeat).
                let before = receiver.messages.count
                try await TestHub.withRunning(configuration) { hub in
                    _ = try await hub.send("GET", "/fhir/Patient?_count=1", presenting: pki)
                    _ = try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator)
                    #expect(try await eventually { indexes().max() ?? 0 > first })
                }
                let counts = Dictionary(indexes().map { ($0, 1) }, uniquingKeysWith: +)
                #expect(counts.values.allSatisfy { $0 <= 2 }, "at most a batch is sent again")
                #expect(receiver.messages.count - before < first, "the restarted hub did not start over")
            }
        }
    }

    /// A hub configuration that feeds the receiver on `port` (loopback allowed).
    static func feeding(_ url: DatabaseURL, port: Int, pki: TestPKI) throws -> HubConfiguration {
        var settings = try TestHub.configuration(database: url)
        settings.tls.clientAuthentication = .optional
        settings.audit.syslogHost = "127.0.0.1"
        settings.audit.syslogPort = port
        settings.audit.syslogTrustRoots = pki.caCertificate
        settings.audit.syslogAllowedNetworks = [try #require(IPNetwork("127.0.0.0/8"))]
        return settings
    }

    /// The log indexes of the AuditEvents `receiver` has got, in arrival order.
    static func indexes(_ receiver: SyslogReceiver) -> [Int] {
        receiver.messages.compactMap { message -> Int? in
            guard let bom = message.firstRange(of: [0xEF, 0xBB, 0xBF]) else { return nil }
            let event = try? JSONSerialization.jsonObject(with: Data(message[bom.upperBound...])) as? [String: Any]
            return ((event?["extension"] as? [[String: Any]])?.first?["valueInteger"]) as? Int
        }
    }

    @Test func twoHubsOnOneDatabaseSendTheFeedOnce() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = SyslogReceiver()
        try await receiver.whileListening(pki: pki) { port in
            try await TestDatabase.withFresh { url in
                let configuration = try Self.feeding(url, port: port, pki: pki)
                @Sendable func indexes() -> [Int] { Self.indexes(receiver) }
                try await TestHub.withRunning(configuration) { first in
                    try await TestHub.withRunning(configuration) { second in
                        for round in 0..<6 {
                            let hub = round.isMultiple(of: 2) ? first : second
                            _ = try await hub.send("GET", "/fhir/Patient?_count=1", presenting: pki)
                        }
                        let checkpoint = try await second.send("POST", "/audit/checkpoint", presenting: pki.regulator)
                        let size = try #require(Int(checkpoint.text.split(separator: "\n")[1]))
                        #expect(try await eventually { Set(indexes()).isSuperset(of: 0..<size) }, "\(indexes().count) of \(size)")
                        // Both hubs run a feed; one holds it: one sender, nothing twice.
                        #expect(receiver.connections == 1)
                        let counts = Dictionary(indexes().map { ($0, 1) }, uniquingKeysWith: +)
                        #expect(counts.values.allSatisfy { $0 == 1 }, "sent twice: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(10))")
                    }
                    // The second hub stopped; whichever held the feed, the first carries on.
                    _ = try await first.send("GET", "/fhir/Patient?_count=1", presenting: pki)
                    let checkpoint = try await first.send("POST", "/audit/checkpoint", presenting: pki.regulator)
                    let size = try #require(Int(checkpoint.text.split(separator: "\n")[1]))
                    #expect(try await eventually(within: .seconds(30)) { Set(indexes()).isSuperset(of: 0..<size) }, "\(indexes().count) of \(size)")
                }
            }
        }
    }
}
