/// Lower-case hexadecimal text of bytes: key ids, blind indexes, digests. One table lookup per
/// nibble — it runs for every blind index of every write, where `String(format:)` cost a
/// Foundation formatter per byte.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(Self.digits[Int(byte >> 4)])
            text.append(Self.digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
