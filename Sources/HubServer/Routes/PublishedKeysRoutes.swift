import Foundation
public import HubCrypto
public import Hummingbird

/// `GET /.well-known/hub-keys`: the public keys that verify what the hub signs (audit tree heads
/// and reports), current and retired, with what a verifier needs to use them.
///
/// The format is documented in `docs/crypto.md`; it is public by design (no authentication).
public struct PublishedKeysRoutes<Context: RequestContext>: Sendable {
    let keyStore: any KeyStore
    let suite: CryptoSuite

    public init(keyStore: any KeyStore, suite: CryptoSuite) {
        self.keyStore = keyStore
        self.suite = suite
    }

    public func add(to router: Router<Context>) {
        router.get(".well-known/hub-keys") { _, _ in
            let keys = try await self.keyStore.verifyingKeys()
            return Response.json(
                Document(suite: self.suite.name, keys: keys.map(Document.Key.init)),
                headers: [.cacheControl: "public, max-age=300"]
            )
        }
    }

    struct Document: Encodable {
        var suite: String
        /// How every hub signature is laid out; see docs/crypto.md.
        var signatureFormat = "header ‖ DER SEQUENCE{r, s}; the signature covers header ‖ message"
        var keys: [Key]

        struct Key: Encodable {
            var kid: String
            var alg: String
            var use = "sig"
            var status: String
            var created: String
            var publicKeyPem: String
            /// SubjectPublicKeyInfo, base64.
            var publicKeySpki: String
            /// The uncompressed point `04 ‖ X ‖ Y`, hex (for SDKs that take raw SM2 keys).
            var publicKeyPoint: String
            /// SM2 only: the distinguishing ID signatures are made with.
            var sm2DistinguishingId: String?
            /// ES256 only: the key as a JWK (RFC 7517).
            var jwk: JWK?

            init(_ published: PublishedKey) {
                let point = published.verifyingKey.rawRepresentation
                self.kid = published.description.id.value
                self.alg = published.description.algorithm
                self.status = published.description.state.rawValue
                self.created = published.description.createdAt.formatted(.iso8601)
                self.publicKeyPem = published.verifyingKey.pemRepresentation
                self.publicKeySpki = Data(published.verifyingKey.derRepresentation).base64EncodedString()
                self.publicKeyPoint = point.map { String(format: "%02x", $0) }.joined()
                self.sm2DistinguishingId = published.verifyingKey.distinguishingID.map { String(decoding: $0, as: UTF8.self) }
                if published.verifyingKey.algorithm == .ecdsaP256SHA256, point.count == 65 {
                    self.jwk = JWK(kid: self.kid, x: Self.base64URL(point[1...32]), y: Self.base64URL(point[33...64]))
                }
            }

            static func base64URL(_ bytes: ArraySlice<UInt8>) -> String {
                Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
            }
        }

        struct JWK: Encodable {
            var kty = "EC"
            var crv = "P-256"
            var kid: String
            var use = "sig"
            var alg = "ES256"
            var x: String
            var y: String
        }
    }
}
