import Crypto

/// AES-256-GCM through swift-crypto (BoringSSL's constant-time implementation).
public struct AES256GCM: AuthenticatedCipher {
    public let algorithm = AlgorithmIdentifier.aes256GCM
    public let keyByteCount = 32
    public let nonceByteCount = 12
    public let tagByteCount = 16

    public init() {}

    public func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) {
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
