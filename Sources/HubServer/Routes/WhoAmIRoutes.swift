public import Hummingbird

/// `GET /whoami`: what the hub sees of the caller — the TLS client certificate (subject and
/// SHA-256 fingerprint, which a hospital registers with the hub) and its network address.
public struct WhoAmIRoutes: Sendable {
    public init() {}

    public func add(to router: Router<HubRequestContext>) {
        router.get("whoami") { _, context in
            let certificate = await context.clientCertificate()
            return Response.json(WhoAmI(clientCertificate: certificate, remoteAddress: context.remoteAddress))
        }
    }

    struct WhoAmI: Encodable {
        var clientCertificate: ClientCertificate?
        var remoteAddress: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            // Explicit null: "no certificate" is an answer, not an omission.
            try container.encode(self.clientCertificate, forKey: .clientCertificate)
            try container.encode(self.remoteAddress, forKey: .remoteAddress)
        }

        enum CodingKeys: String, CodingKey {
            case clientCertificate, remoteAddress
        }
    }
}
