import Foundation

/// The compact header in front of everything the hub encrypts, signs, wraps or indexes.
///
/// ```
/// byte 0      format version (1)
/// byte 1      kind: 1 ciphertext, 2 signature, 3 wrapped key, 4 blind index
/// bytes 2–3   algorithm identifier, big-endian (see AlgorithmIdentifier)
/// byte 4      key id length n (1–64)
/// bytes 5…    key id, n bytes of ASCII
/// ```
///
/// The header is always authenticated with what follows it (it is AEAD associated data, or part
/// of the signed or MACed bytes), so changing the algorithm, the kind or the key id is detected.
public struct ObjectHeader: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case ciphertext = 1
        case signature = 2
        case wrappedKey = 3
        case blindIndex = 4
    }

    public static let currentVersion: UInt8 = 1

    public var kind: Kind
    public var algorithm: AlgorithmIdentifier
    public var keyID: KeyID

    public init(kind: Kind, algorithm: AlgorithmIdentifier, keyID: KeyID) {
        self.kind = kind
        self.algorithm = algorithm
        self.keyID = keyID
    }

    public var serialized: [UInt8] {
        let id = Array(self.keyID.value.utf8)
        return [Self.currentVersion, self.kind.rawValue, UInt8(self.algorithm.rawValue >> 8), UInt8(self.algorithm.rawValue & 0xFF), UInt8(id.count)]
            + id
    }

    /// Parses the header at the start of `bytes`; returns it and the offset of what follows.
    public static func parse(_ bytes: [UInt8], expecting kind: Kind) throws(CryptographyError) -> (header: ObjectHeader, bodyOffset: Int) {
        guard bytes.count >= 6 else {
            throw CryptographyError(.malformed, "too short for a header (\(bytes.count) bytes)")
        }
        guard bytes[0] == Self.currentVersion else {
            throw CryptographyError(.malformed, "unknown format version \(bytes[0])")
        }
        guard let parsedKind = Kind(rawValue: bytes[1]) else {
            throw CryptographyError(.malformed, "unknown object kind \(bytes[1])")
        }
        guard parsedKind == kind else {
            throw CryptographyError(.malformed, "expected a \(kind), found a \(parsedKind)")
        }
        let algorithm = AlgorithmIdentifier(rawValue: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        let idLength = Int(bytes[4])
        guard idLength >= 1, bytes.count >= 5 + idLength else {
            throw CryptographyError(.malformed, "truncated key id")
        }
        guard let text = String(bytes: bytes[5..<(5 + idLength)], encoding: .ascii) else {
            throw CryptographyError(.malformed, "key id is not ASCII")
        }
        let keyID = try KeyID(text)
        return (ObjectHeader(kind: parsedKind, algorithm: algorithm, keyID: keyID), 5 + idLength)
    }
}
