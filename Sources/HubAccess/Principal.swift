import Foundation
import HubCrypto

/// Someone the hub knows: a client (hospital system) or a user (clinician, regulator,
/// administrator), always of one organization.
public struct Principal: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case client, user
    }

    public var id: String
    public var kind: Kind
    public var role: Role
    public var organization: String
    public var name: String
    /// The SMART scopes it may be granted (a token may carry fewer).
    public var scopes: [String]
    /// SHA-256 of the DER client certificate it authenticates with (mutual TLS), lowercase hex.
    public var certificateSHA256: String?
    /// PEM public key (P-256 or SM2) of the signed JWT assertions it authenticates with.
    public var publicKey: String?
    public var active: Bool

    public init(
        id: String,
        role: Role,
        organization: String,
        name: String,
        scopes: [String] = [],
        certificateSHA256: String? = nil,
        publicKey: String? = nil,
        active: Bool = true
    ) {
        self.id = id
        self.kind = role == .system ? .client : .user
        self.role = role
        self.organization = organization
        self.name = name
        self.scopes = scopes
        self.certificateSHA256 = certificateSHA256
        self.publicKey = publicKey
        self.active = active
    }
}

extension Principal {
    /// What a certificate registration binds to: SHA-256 of the PEM certificate's DER, lowercase
    /// hex (the fingerprint `GET /whoami` shows).
    public static func fingerprint(certificatePEM pem: String) throws(AccessError) -> String {
        let base64 = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: base64), let digest = try? SHA256Hash().digest(Array(der)) else {
            throw AccessError(.invalid, "not a PEM certificate")
        }
        return Hex.string(digest)
    }
}
