/// The algorithms the hub writes with: one of each kind, chosen together by a crypto profile.
///
/// A suite decides only what new data is written with. Reading never depends on it: every
/// ciphertext, signature and wrapped key names its algorithm (see ``ObjectHeader``), and
/// ``AlgorithmRegistry`` finds the implementation for any algorithm the hub knows.
public struct CryptoSuite: Sendable {
    /// `sm` or `intl`.
    public let name: String
    public let hash: any HashFunction
    public let mac: any MessageAuthenticator
    public let cipher: any AuthenticatedCipher
    public let signature: any SignatureScheme

    public init(
        name: String,
        hash: any HashFunction,
        mac: any MessageAuthenticator,
        cipher: any AuthenticatedCipher,
        signature: any SignatureScheme
    ) {
        self.name = name
        self.hash = hash
        self.mac = mac
        self.cipher = cipher
        self.signature = signature
    }

    /// The Chinese national suite: SM3, HMAC-SM3, SM4-GCM, SM2 with SM3 (via the system OpenSSL).
    public static func sm() throws(CryptographyError) -> CryptoSuite {
        CryptoSuite(name: "sm", hash: try SM3(), mac: HMACSM3(), cipher: try SM4GCM(), signature: SM2Signature())
    }

    /// The international suite: SHA-256, HMAC-SHA-256, AES-256-GCM, ECDSA P-256 (via swift-crypto).
    public static func international() -> CryptoSuite {
        CryptoSuite(name: "intl", hash: SHA256Hash(), mac: HMACSHA256(), cipher: AES256GCM(), signature: P256Signature())
    }
}
