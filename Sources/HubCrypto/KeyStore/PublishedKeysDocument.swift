import Foundation

/// The document at `/.well-known/hub-keys`: the public keys that verify what the hub signs
/// (audit checkpoints and reports), current and retired, with what a verifier needs to use them.
/// Its format is specified in `docs/crypto.md`; verifiers (`hubctl audit verify`) read it back.
public struct PublishedKeysDocument: Codable, Sendable {
    public var suite: String
    /// How every hub signature is laid out; see docs/crypto.md.
    public var signatureFormat = "header ‖ DER SEQUENCE{r, s}; the signature covers header ‖ message"
    public var keys: [Key]

    public init(suite: String, keys: [PublishedKey]) {
        self.suite = suite
        self.keys = keys.map(Key.init)
    }

    public struct Key: Codable, Sendable {
        public var kid: String
        public var alg: String
        public var use = "sig"
        public var status: String
        public var created: String
        public var publicKeyPem: String
        /// SubjectPublicKeyInfo, base64.
        public var publicKeySpki: String
        /// The uncompressed point `04 ‖ X ‖ Y`, hex (for SDKs that take raw SM2 keys).
        public var publicKeyPoint: String
        /// SM2 only: the distinguishing ID signatures are made with.
        public var sm2DistinguishingId: String?
        /// ES256 only: the key as a JWK (RFC 7517).
        public var jwk: JWK?

        init(_ published: PublishedKey) {
            let point = published.verifyingKey.rawRepresentation
            self.kid = published.description.id.value
            self.alg = published.description.algorithm
            self.status = published.description.state.rawValue
            self.created = published.description.createdAt.formatted(.iso8601)
            self.publicKeyPem = published.verifyingKey.pemRepresentation
            self.publicKeySpki = Data(published.verifyingKey.derRepresentation).base64EncodedString()
            self.publicKeyPoint = Hex.string(point)
            self.sm2DistinguishingId = published.verifyingKey.distinguishingID.map { String(decoding: $0, as: UTF8.self) }
            if published.verifyingKey.algorithm == .ecdsaP256SHA256, point.count == 65 {
                self.jwk = JWK(kid: self.kid, x: Base64URL.encode(point[1...32]), y: Base64URL.encode(point[33...64]))
            }
        }
    }

    public struct JWK: Codable, Sendable {
        public var kty = "EC"
        public var crv = "P-256"
        public var kid: String
        public var use = "sig"
        public var alg = "ES256"
        public var x: String
        public var y: String
    }

    /// The keys as verifiers, by key id, using the implementations in `registry`.
    public func verifyingKeys(registry: AlgorithmRegistry) throws(CryptographyError) -> [String: any VerifyingKey] {
        var keys: [String: any VerifyingKey] = [:]
        for key in self.keys {
            guard let algorithm = AlgorithmIdentifier(name: key.alg) else {
                throw CryptographyError(.unknownAlgorithm, "published key \(key.kid) has unknown algorithm \(key.alg)")
            }
            guard let der = Data(base64Encoded: key.publicKeySpki) else {
                throw CryptographyError(.malformed, "published key \(key.kid) is not base64")
            }
            keys[key.kid] = try registry.signatureScheme(for: algorithm).verifyingKey(der: Array(der))
        }
        return keys
    }
}
