import Crypto

/// HMAC-SHA-256 through swift-crypto.
public struct HMACSHA256: MessageAuthenticator {
    public let algorithm = AlgorithmIdentifier.hmacSHA256
    public let outputByteCount = 32

    public init() {}

    public func authenticationCode(for message: [UInt8], key: SecretKey) throws(CryptographyError) -> [UInt8] {
        guard !key.bytes.isEmpty else {
            throw CryptographyError(.invalidKey, "HMAC-SHA256 needs a non-empty key")
        }
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key.bytes)))
    }
}
