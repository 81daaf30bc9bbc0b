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
        var generator = SystemRandomNumberGenerator()
        return SecretKey(bytes: (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    public var byteCount: Int { self.bytes.count }

    public var description: String { "SecretKey(\(self.bytes.count) bytes)" }
    public var debugDescription: String { self.description }
}

/// Random bytes from the system's secure generator (nonces, key ids).
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}
