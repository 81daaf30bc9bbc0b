/// A keyed MAC (HMAC-SM3, HMAC-SHA-256), used for blind indexes and key derivation.
public protocol MessageAuthenticator: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    var outputByteCount: Int { get }
    func authenticationCode(for message: [UInt8], key: SecretKey) throws(CryptographyError) -> [UInt8]
}

extension MessageAuthenticator {
    /// HKDF (RFC 5869) over this MAC: derives `byteCount` bytes from input key material.
    public func deriveKey(
        from inputKeyMaterial: SecretKey,
        salt: [UInt8],
        info: [UInt8],
        byteCount: Int
    ) throws(CryptographyError) -> SecretKey {
        let hashLength = self.outputByteCount
        guard byteCount > 0, byteCount <= 255 * hashLength else {
            throw CryptographyError(.invalidKey, "HKDF cannot derive \(byteCount) bytes with \(self.algorithm)")
        }
        let pseudorandomKey = try self.authenticationCode(
            for: inputKeyMaterial.bytes,
            key: SecretKey(bytes: salt.isEmpty ? Array(repeating: 0, count: hashLength) : salt)
        )
        var output: [UInt8] = []
        var previous: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < byteCount {
            previous = try self.authenticationCode(for: previous + info + [counter], key: SecretKey(bytes: pseudorandomKey))
            output += previous
            counter += 1
        }
        return SecretKey(bytes: Array(output.prefix(byteCount)))
    }
}
