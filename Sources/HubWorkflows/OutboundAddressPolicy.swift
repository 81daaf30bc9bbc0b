import Foundation
public import HubConfig

/// Where the hub may send requests on a subscriber's behalf. A subscription names any URL; the
/// hub must not become a probe of the networks it sits in, so loopback, link-local, private,
/// shared, multicast and unspecified addresses are refused — at creation for addresses written
/// in the URL, and again at delivery for the addresses a name resolves to — unless the operator
/// allows a network (`subscriptions.allowed_endpoint_networks`).
public struct OutboundAddressPolicy: Sendable, Equatable {
    /// Networks the operator allows although they are internal.
    public var allowed: [IPNetwork]

    public init(allowed: [IPNetwork] = []) {
        self.allowed = allowed
    }

    /// The internal networks, with what they are.
    static let internalNetworks: [(network: IPNetwork, kind: String)] = [
        ("0.0.0.0/8", "an unspecified"), ("127.0.0.0/8", "a loopback"), ("10.0.0.0/8", "a private"),
        ("172.16.0.0/12", "a private"), ("192.168.0.0/16", "a private"), ("169.254.0.0/16", "a link-local"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT)"), ("192.0.0.0/24", "a reserved"), ("224.0.0.0/4", "a multicast"),
        ("240.0.0.0/4", "a reserved"), ("::/128", "an unspecified"), ("::1/128", "a loopback"), ("fe80::/10", "a link-local"),
        ("fc00::/7", "a private (unique local)"), ("ff00::/8", "a multicast"), ("64:ff9b::/96", "a translated (NAT64)"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    /// Why the hub must not call `address`, or nil when it may.
    public func refusal(_ address: IPAddress) -> String? {
        guard !self.allowed.contains(where: { $0.contains(address) }) else { return nil }
        guard let match = Self.internalNetworks.first(where: { $0.network.contains(address) }) else { return nil }
        return "\(address) is \(match.kind) address"
    }

    /// Why the hub must not call `host` (a URL's host), judged on what it says itself: an IP
    /// literal, or a name under `localhost`. Other names are judged on what they resolve to, at
    /// delivery.
    public func refusal(host: String) -> String? {
        if let address = IPAddress(host) { return self.refusal(address) }
        let name = host.lowercased().trimmingCharacters(in: ["."])
        if name == "localhost" || name.hasSuffix(".localhost") {
            return self.allowed.contains(where: { $0.contains(IPAddress("127.0.0.1")!) }) ? nil : "\(host) is a loopback name"
        }
        return nil
    }

    /// An endpoint the hub will not call, and why.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "refused endpoint: \(self.reason)" }
    }

    /// The addresses the hub may connect to for `host`: the literal address, or every address
    /// the name resolves to — all of them allowed, or none (a name that answers with one
    /// internal address among public ones is refused). Callers connect to these addresses, not
    /// to the name again (a second lookup may answer differently: DNS rebinding).
    public func checkedAddresses(host: String) async throws(Refusal) -> [IPAddress] {
        if let refusal = self.refusal(host: host) { throw Refusal(reason: refusal) }
        if let literal = IPAddress(host) { return [literal] }
        let resolved = await IPAddress.resolve(host)
        guard !resolved.isEmpty else { throw Refusal(reason: "\(host) does not resolve") }
        for address in resolved {
            if let refusal = self.refusal(address) { throw Refusal(reason: "\(host) resolves to \(refusal)") }
        }
        return resolved
    }
}
