/// An AEAD ciphertext in the hub's stored format: `header ‖ nonce ‖ ciphertext ‖ tag`.
///
/// The AEAD's associated data is `header ‖ context`, where `context` is supplied by the caller
/// and not stored (for a record: its type, id and patient). A ciphertext moved to another
/// record, or given another header, fails to open.
public struct SealedBox: Sendable, Equatable {
    public let header: ObjectHeader
    public let nonce: [UInt8]
    public let ciphertext: [UInt8]
    public let tag: [UInt8]
    /// The header as serialized (kept: it is the AEAD's associated data and the output's prefix).
    let headerBytes: [UInt8]

    /// Encrypts `plaintext` under `key` (named `keyID` in the header).
    public static func seal(
        _ plaintext: [UInt8],
        cipher: any AuthenticatedCipher,
        key: SecretKey,
        keyID: KeyID,
        kind: ObjectHeader.Kind = .ciphertext,
        context: [UInt8]
    ) throws(CryptographyError) -> SealedBox {
        let header = ObjectHeader(kind: kind, algorithm: cipher.algorithm, keyID: keyID)
        let headerBytes = header.serialized
        let nonce = randomBytes(cipher.nonceByteCount)
        let (ciphertext, tag) = try cipher.seal(plaintext, key: key, nonce: nonce, additionalData: headerBytes + context)
        return SealedBox(header: header, headerBytes: headerBytes, nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Parses stored bytes; the algorithm must be one `registry` knows (it fixes nonce and tag sizes).
    public init(parsing bytes: [UInt8], kind: ObjectHeader.Kind = .ciphertext, registry: AlgorithmRegistry) throws(CryptographyError) {
        let (header, offset) = try ObjectHeader.parse(bytes, expecting: kind)
        let cipher = try registry.cipher(for: header.algorithm)
        guard bytes.count >= offset + cipher.nonceByteCount + cipher.tagByteCount else {
            throw CryptographyError(.malformed, "\(header.algorithm) ciphertext is truncated")
        }
        self.header = header
        self.headerBytes = Array(bytes[..<offset])
        self.nonce = Array(bytes[offset..<(offset + cipher.nonceByteCount)])
        self.ciphertext = Array(bytes[(offset + cipher.nonceByteCount)..<(bytes.count - cipher.tagByteCount)])
        self.tag = Array(bytes[(bytes.count - cipher.tagByteCount)...])
    }

    private init(header: ObjectHeader, headerBytes: [UInt8], nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.header = header
        self.headerBytes = headerBytes
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// Decrypts with `key`, which must be the key the header names; `context` must equal the
    /// one given when sealing.
    public func open(key: SecretKey, context: [UInt8], registry: AlgorithmRegistry) throws(CryptographyError) -> [UInt8] {
        let cipher = try registry.cipher(for: self.header.algorithm)
        return try cipher.open(
            self.ciphertext,
            tag: self.tag,
            key: key,
            nonce: self.nonce,
            additionalData: self.headerBytes + context
        )
    }

    public var serialized: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.headerBytes.count + self.nonce.count + self.ciphertext.count + self.tag.count)
        bytes += self.headerBytes
        bytes += self.nonce
        bytes += self.ciphertext
        bytes += self.tag
        return bytes
    }
}
