import HubAccess
public import Hummingbird

/// `GET /whoami`: what the hub sees of the caller — the principal its credentials stand for (if
/// any), the TLS client certificate (subject and SHA-256 fingerprint, which a hospital registers
/// with the hub) and its network address.
public struct WhoAmIRoutes: Sendable {
    public init() {}

    public func add(to router: Router<HubRequestContext>) {
        router.get("whoami") { _, context in
            let certificate = await context.clientCertificate()
            let principal = context.grant.map { grant in
                WhoAmI.Principal(
                    id: grant.principal, role: grant.role.rawValue, organization: grant.organization, user: grant.user,
                    scopes: grant.scopes.map(\.description)
                )
            }
            return Response.json(WhoAmI(principal: principal, clientCertificate: certificate, remoteAddress: context.remoteAddress))
        }
    }

    struct WhoAmI: Encodable {
        struct Principal: Encodable {
            var id: String
            var role: String
            var organization: String
            var user: String?
            var scopes: [String]
        }

        var principal: Principal?
        var clientCertificate: ClientCertificate?
        var remoteAddress: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            // Explicit null: "no certificate" is an answer, not an omission.
            try container.encode(self.principal, forKey: .principal)
            try container.encode(self.clientCertificate, forKey: .clientCertificate)
            try container.encode(self.remoteAddress, forKey: .remoteAddress)
        }

        enum CodingKeys: String, CodingKey {
            case principal, clientCertificate, remoteAddress
        }
    }
}
