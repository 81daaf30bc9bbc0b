public import Foundation
public import HubCrypto

/// A signed JWT a client presents to `POST /auth/token` instead of a secret (SMART Backend
/// Services, RFC 7523): `iss` = `sub` = its principal id, `aud` = the token endpoint's URL, a
/// short `exp` and a unique `jti`.
///
/// Two algorithms: `ES256` (ECDSA P-256 with SHA-256, RFC 7518) and `SM2SM3` (SM2 with SM3 and
/// the default distinguishing ID `1234567812345678`, GM/T 0009) — both with the signature as
/// raw `r ‖ s`, 32 bytes each, base64url (docs/security.md).
public struct ClientAssertion: Sendable {
    public var algorithm: String
    public var issuer: String
    public var subject: String
    public var audiences: [String]
    public var expiresAt: Date
    public var jwtID: String
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// The JWS `alg` names and the hub's algorithms they stand for.
    public static let algorithms: [String: AlgorithmIdentifier] = ["ES256": .ecdsaP256SHA256, "SM2SM3": .sm2WithSM3]
    /// The longest an assertion may live: a stolen one is useless soon.
    public static let maximumLifetime: TimeInterval = 300

    /// Parses a compact JWS; checks its shape, not its signature or claims' values.
    public init(compact: String) throws(AccessError) {
        func invalid(_ why: String) -> AccessError { AccessError(.unauthenticated, "client_assertion \(why)", oauthError: "invalid_client") }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard compact.utf8.count <= 8192, parts.count == 3 else { throw invalid("is not a compact JWS (three base64url parts)") }
        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any]
        else { throw invalid("is not base64url JSON") }
        guard let algorithm = header["alg"] as? String, Self.algorithms[algorithm] != nil else {
            throw invalid("must be signed with ES256 or SM2SM3")
        }
        guard let issuer = claims["iss"] as? String, let subject = claims["sub"] as? String, issuer == subject else {
            throw invalid("needs iss and sub, both the client's id")
        }
        let audiences: [String]
        if let single = claims["aud"] as? String { audiences = [single] } else { audiences = claims["aud"] as? [String] ?? [] }
        guard !audiences.isEmpty else { throw invalid("needs aud, the token endpoint's URL") }
        guard let exp = claims["exp"] as? NSNumber else { throw invalid("needs exp") }
        guard let jti = claims["jti"] as? String, !jti.isEmpty, jti.utf8.count <= 256 else { throw invalid("needs a jti of at most 256 bytes") }
        guard signature.count == 64 else { throw invalid("signature must be raw r ‖ s (64 bytes)") }
        self.algorithm = algorithm
        self.issuer = issuer
        self.subject = subject
        self.audiences = audiences
        self.expiresAt = Date(timeIntervalSince1970: exp.doubleValue)
        self.jwtID = jti
        self.signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        self.signature = signature
    }

    /// The one answer for an assertion that no active registered principal signed — an unknown
    /// issuer, one without a key, another algorithm, a wrong signature alike — so that the token
    /// endpoint does not tell which principals exist or how they are keyed.
    public static let notAuthentic = AccessError(
        .unauthenticated, "client_assertion is not signed by the registered key of an active principal", oauthError: "invalid_client"
    )

    /// Checks the signature with the principal's registered key, and the time and audience.
    public func verify(key: any VerifyingKey, audience: String, now: Date = Date()) throws(AccessError) {
        func invalid(_ why: String) -> AccessError { AccessError(.unauthenticated, "client_assertion \(why)", oauthError: "invalid_client") }
        guard Self.algorithms[self.algorithm] == key.algorithm,
            let der = try? SignatureEncoding.der(fromRaw: self.signature), key.isValidSignature(der, for: self.signingInput)
        else {
            throw Self.notAuthentic
        }
        guard self.audiences.contains(audience) else { throw invalid("aud must be \(audience)") }
        guard self.expiresAt > now.addingTimeInterval(-30) else { throw invalid("has expired") }
        guard self.expiresAt <= now.addingTimeInterval(Self.maximumLifetime + 30) else {
            throw invalid("may live at most \(Int(Self.maximumLifetime)) seconds")
        }
    }

    /// Makes an assertion (for `hubctl login` and for clients written against the hub).
    public static func make(
        issuer: String,
        audience: String,
        key: any SigningKey,
        lifetime: TimeInterval = 120,
        jwtID: String = UUID().uuidString,
        now: Date = Date()
    ) throws -> String {
        guard let algorithm = Self.algorithms.first(where: { $0.value == key.algorithm })?.key else {
            throw AccessError(.invalid, "only P-256 and SM2 keys sign client assertions")
        }
        let header = try JSONSerialization.data(withJSONObject: ["alg": algorithm, "typ": "JWT"], options: .sortedKeys)
        let claims = try JSONSerialization.data(
            withJSONObject: [
                "iss": issuer, "sub": issuer, "aud": audience, "jti": jwtID,
                "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970 + lifetime),
            ] as [String: Any],
            options: .sortedKeys
        )
        let input = "\(Base64URL.encode(Array(header))).\(Base64URL.encode(Array(claims)))"
        let signature = try SignatureEncoding.raw(fromDER: key.signature(for: Array(input.utf8)))
        return "\(input).\(Base64URL.encode(signature))"
    }

    /// A registered PEM public key, as a P-256 or an SM2 key (whichever it is).
    public static func verifyingKey(pem: String, registry: AlgorithmRegistry) -> (any VerifyingKey)? {
        for algorithm in [AlgorithmIdentifier.ecdsaP256SHA256, .sm2WithSM3] {
            if let scheme = try? registry.signatureScheme(for: algorithm), let key = try? scheme.verifyingKey(pem: pem) {
                return key
            }
        }
        return nil
    }
}
