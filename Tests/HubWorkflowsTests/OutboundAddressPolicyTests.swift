import HubConfig
import HubWorkflows
import Testing

/// Where the hub may deliver notifications: internal addresses in every spelling are refused
/// unless the operator allows their network. Classification only: nothing here sends traffic.
@Suite struct OutboundAddressPolicyTests {
    static let refusedByDefault = [
        "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1",
        "[::ffff:7f00:1]", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "fe80::1", "fc00::1", "fd12:3456::1", "224.0.0.251", "ff02::1", "localhost", "LocalHost.", "db.localhost",
    ]
    /// Public addresses and names: allowed (names are judged again at delivery, on what they resolve to).
    static let allowed = ["93.184.216.34", "2606:4700::1111", "172.32.0.1", "192.169.0.1", "hospital.example.cn", "172.15.255.255"]

    @Test func internalAddressesInEverySpellingAreRefused() {
        let policy = OutboundAddressPolicy()
        for host in Self.refusedByDefault {
            #expect(policy.refusal(host: host) != nil, "\(host) was allowed")
        }
        for host in Self.allowed {
            #expect(policy.refusal(host: host) == nil, "\(host): \(policy.refusal(host: host) ?? "")")
        }
    }

    @Test func anAllowedNetworkOpensOnlyItself() throws {
        let policy = OutboundAddressPolicy(allowed: [try #require(IPNetwork("127.0.0.0/8"))])
        #expect(policy.refusal(host: "127.0.0.1") == nil)
        #expect(policy.refusal(host: "127.1") == nil)
        #expect(policy.refusal(host: "localhost") == nil)
        #expect(policy.refusal(host: "::1") != nil)
        #expect(policy.refusal(host: "10.0.0.1") != nil)
    }

    @Test func networksParseStrictly() throws {
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("10.0.0.0") == nil)
        #expect(IPNetwork("::1/129") == nil)
        #expect(IPNetwork("example/8") == nil)
        let network = try #require(IPNetwork("172.16.0.0/12"))
        #expect(network.contains(try #require(IPAddress("172.31.0.1"))))
        #expect(!network.contains(try #require(IPAddress("172.32.0.1"))))
        #expect(!network.contains(try #require(IPAddress("::1"))))
        #expect(IPAddress("::ffff:10.0.0.1") == IPAddress("10.0.0.1"))
    }
}
