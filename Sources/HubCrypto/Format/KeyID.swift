/// Names a key in headers, key stores and listings: 1–64 characters of `A–Z a–z 0–9 . _ : -`.
///
/// Ids are never secret and never derived from key material.
public struct KeyID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let value: String

    public init(_ value: String) throws(CryptographyError) {
        guard (1...64).contains(value.utf8.count),
            value.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                    || byte == UInt8(ascii: "-")
            })
        else {
            throw CryptographyError(.malformed, "a key id is 1–64 characters of A–Z a–z 0–9 . _ : -")
        }
        self.value = value
    }

    /// A new random id with a readable prefix: `dek-3f9c…` (16 random bytes, hex).
    public static func random(prefix: String) -> KeyID {
        let suffix = Hex.string(randomBytes(16))
        // A caller's prefix that is not a valid id is dropped rather than trusted.
        return (try? KeyID(prefix + "-" + suffix)) ?? KeyID(unchecked: suffix)
    }

    private init(unchecked value: String) {
        self.value = value
    }

    public var description: String { self.value }

    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try KeyID(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.value)
    }
}
