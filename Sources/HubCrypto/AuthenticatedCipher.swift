/// An AEAD cipher (SM4-GCM, AES-256-GCM): the primitive beneath ``Ciphertext``.
public protocol AuthenticatedCipher: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    var keyByteCount: Int { get }
    /// 12 for both suites: GCM's 96-bit nonce.
    var nonceByteCount: Int { get }
    /// 16 for both suites.
    var tagByteCount: Int { get }

    /// Encrypts `plaintext`, authenticating it together with `additionalData`.
    func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8])

    /// Decrypts, or throws `.authenticationFailed` — never returns unauthenticated plaintext.
    func open(
        _ ciphertext: [UInt8],
        tag: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> [UInt8]
}

extension AuthenticatedCipher {
    /// The longest plaintext accepted: far below GCM's limit (2^39 − 256 bits), so a 32-bit
    /// block counter never wraps and one call's length fits OpenSSL's `int`.
    public var maximumPlaintextByteCount: Int { 1 << 30 }

    func checkSizes(key: SecretKey, nonce: [UInt8], textCount: Int) throws(CryptographyError) {
        guard key.byteCount == self.keyByteCount else {
            throw CryptographyError(.invalidKey, "\(self.algorithm) needs a \(self.keyByteCount)-byte key, got \(key.byteCount)")
        }
        guard nonce.count == self.nonceByteCount else {
            throw CryptographyError(.malformed, "\(self.algorithm) needs a \(self.nonceByteCount)-byte nonce, got \(nonce.count)")
        }
        guard textCount <= self.maximumPlaintextByteCount else {
            throw CryptographyError(.malformed, "\(self.algorithm) message of \(textCount) bytes exceeds \(self.maximumPlaintextByteCount)")
        }
    }
}
