import COpenSSL

/// Symmetric key bytes held in memory: a data key, or a key-encryption key in the file key store.
///
/// Never printed: `description` shows only the size. (Swift cannot guarantee that copies of the
/// bytes are wiped; keys that must never be in process memory belong in a hardware key store.)
public struct SecretKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A fresh random key of `byteCount` bytes from the system's secure generator.
    public static func random(byteCount: Int) -> SecretKey {
        SecretKey(bytes: randomBytes(byteCount))
    }

    public var byteCount: Int { self.bytes.count }

    public var description: String { "SecretKey(\(self.bytes.count) bytes)" }
    public var debugDescription: String { self.description }
}

/// Random bytes from the system's secure generator (nonces, key ids).
///
/// OpenSSL's DRBG (seeded and reseeded from the operating system) serves them without a system
/// call per request; should it ever fail, the system generator is used instead.
func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard count > 0 else { return bytes }
    if RAND_bytes(&bytes, Int32(count)) == 1 { return bytes }
    var generator = SystemRandomNumberGenerator()
    for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
    return bytes
}
