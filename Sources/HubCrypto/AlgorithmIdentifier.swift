/// Names an algorithm in every header the hub writes.
///
/// The numbers are part of the stored format: once assigned they never change meaning, so data
/// written years ago still says how to read it. The high byte is the family, the low byte the
/// member (`0x01xx` AEAD, `0x02xx` signatures, `0x03xx` MACs, `0x04xx` hashes).
public struct AlgorithmIdentifier: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// SM4 in GCM mode, 128-bit key, 96-bit nonce, 128-bit tag (RFC 8998).
    public static let sm4GCM = AlgorithmIdentifier(rawValue: 0x0101)
    /// AES-256 in GCM mode, 96-bit nonce, 128-bit tag.
    public static let aes256GCM = AlgorithmIdentifier(rawValue: 0x0102)
    /// SM2 signature over SM3 with the distinguishing ID `1234567812345678`, DER `SEQUENCE {r, s}`.
    public static let sm2WithSM3 = AlgorithmIdentifier(rawValue: 0x0201)
    /// ECDSA over P-256 with SHA-256, DER `SEQUENCE {r, s}`.
    public static let ecdsaP256SHA256 = AlgorithmIdentifier(rawValue: 0x0202)
    /// HMAC with SM3, 256-bit output.
    public static let hmacSM3 = AlgorithmIdentifier(rawValue: 0x0301)
    /// HMAC with SHA-256, 256-bit output.
    public static let hmacSHA256 = AlgorithmIdentifier(rawValue: 0x0302)
    /// SM3, 256-bit output.
    public static let sm3 = AlgorithmIdentifier(rawValue: 0x0401)
    /// SHA-256.
    public static let sha256 = AlgorithmIdentifier(rawValue: 0x0402)

    /// The name used in profiles, key listings and `/.well-known/hub-keys`.
    public var name: String {
        switch self {
        case .sm4GCM: "SM4-GCM"
        case .aes256GCM: "AES-256-GCM"
        case .sm2WithSM3: "SM2-SM3"
        case .ecdsaP256SHA256: "ES256"
        case .hmacSM3: "HMAC-SM3"
        case .hmacSHA256: "HMAC-SHA256"
        case .sm3: "SM3"
        case .sha256: "SHA-256"
        default: "unknown-0x" + String(self.rawValue, radix: 16)
        }
    }

    public var description: String { self.name }

    /// Every identifier the hub knows, for parsing names back.
    public static let known: [AlgorithmIdentifier] = [
        .sm4GCM, .aes256GCM, .sm2WithSM3, .ecdsaP256SHA256, .hmacSM3, .hmacSHA256, .sm3, .sha256,
    ]

    public init?(name: String) {
        guard let match = Self.known.first(where: { $0.name.lowercased() == name.lowercased() }) else { return nil }
        self = match
    }
}
