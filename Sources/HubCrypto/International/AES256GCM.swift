import Crypto

/// AES-256-GCM: through OpenSSL's EVP interface (AES-NI and carry-less multiplication, a pooled
/// context per message), or swift-crypto's one-shot API (BoringSSL) where OpenSSL lacks it. Both
/// are constant-time and give identical output; the tests check one against the other.
///
/// OpenSSL is preferred for speed (issue #16): swift-crypto derives the key schedule and
/// allocates on every call, which held 1 KiB messages to 0.32 of `openssl speed`.
public struct AES256GCM: AuthenticatedCipher {
    public let algorithm = AlgorithmIdentifier.aes256GCM
    public let keyByteCount = 32
    public let nonceByteCount = 12
    public let tagByteCount = 16
    private let openSSL: EVPAuthenticatedCipher?

    /// Whether OpenSSL's AES-256-GCM is in use (false: swift-crypto's).
    public var usesOpenSSL: Bool { self.openSSL != nil }

    /// - Parameter preferOpenSSL: Use OpenSSL's implementation when it exists. Tests pass false to
    ///   exercise swift-crypto's.
    public init(preferOpenSSL: Bool = true) {
        self.openSSL = preferOpenSSL ? EVPAuthenticatedCipher(name: "AES-256-GCM", algorithm: .aes256GCM, keyByteCount: 32) : nil
    }

    public func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        if let openSSL = self.openSSL { return try openSSL.seal(plaintext, key: key, nonce: nonce, additionalData: additionalData) }
        try self.checkSizes(key: key, nonce: nonce, textCount: plaintext.count)
        do {
            let box = try AES.GCM.seal(
                plaintext,
                using: SymmetricKey(data: key.bytes),
                nonce: try AES.GCM.Nonce(data: nonce),
                authenticating: additionalData
            )
            return (Array(box.ciphertext), Array(box.tag))
        } catch {
            throw CryptographyError(.library, "AES-256-GCM seal failed: \(error)")
        }
    }

    public func open(
        _ ciphertext: [UInt8],
        tag: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> [UInt8] {
        if let openSSL = self.openSSL {
            return try openSSL.open(ciphertext, tag: tag, key: key, nonce: nonce, additionalData: additionalData)
        }
        try self.checkSizes(key: key, nonce: nonce, textCount: ciphertext.count)
        guard tag.count == 16 else { throw CryptographyError(.malformed, "AES-256-GCM tag must be 16 bytes") }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
        } catch {
            throw CryptographyError(.malformed, "AES-256-GCM box: \(error)")
        }
        do {
            return Array(try AES.GCM.open(box, using: SymmetricKey(data: key.bytes), authenticating: additionalData))
        } catch {
            throw CryptographyError(.authenticationFailed, "AES-256-GCM: wrong key, or ciphertext, tag, header or context altered")
        }
    }
}
