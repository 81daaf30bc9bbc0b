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
/// Eight bytes per call to the generator: each call is a system call on Linux.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8]()
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
    }
    return Array(bytes.prefix(count))
}
