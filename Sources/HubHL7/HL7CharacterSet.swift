import Foundation

/// The character set a message declares in MSH-18 (HL7 table 0211), for the bytes on the wire:
/// many Chinese lab systems send GB 18030, older ones ISO 8859-1; absent means UTF-8 (ASCII
/// being a subset). The ACK goes back in the same set.
public enum HL7CharacterSet: String, Sendable, Equatable {
    case utf8 = "UNICODE UTF-8"
    case ascii = "ASCII"
    case latin1 = "8859/1"
    case gb18030 = "GB 18030-2000"

    /// Decodes a message's bytes by its MSH-18; errors are ARs naming MSH-18 (or the bytes).
    public static func decode(_ bytes: [UInt8]) throws(HL7Error) -> (text: String, characterSet: HL7CharacterSet) {
        let declared = Self.declared(in: bytes) ?? ""
        let characterSet: HL7CharacterSet
        if declared.isEmpty {
            characterSet = .utf8
        } else if let known = HL7CharacterSet(rawValue: declared) {
            characterSet = known
        } else {
            throw HL7Error(
                rejected: true, .tableValueNotFound, segment: "MSH", field: 18,
                "character set \(declared) is not one the hub reads (UNICODE UTF-8, ASCII, 8859/1, GB 18030-2000)")
        }
        switch characterSet {
        case .utf8, .ascii:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw HL7Error(
                    rejected: true, .dataTypeError, segment: "MSH", field: 18, "the message is not valid UTF-8: declare its character set in MSH-18")
            }
            return (text, characterSet)
        case .latin1:
            return (String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })), characterSet)
        case .gb18030:
            guard let utf8 = Self.convert(bytes, from: "GB18030", to: "UTF-8"), let text = String(validating: utf8, as: UTF8.self) else {
                throw HL7Error(rejected: true, .dataTypeError, segment: "MSH", field: 18, "the message is not valid GB 18030")
            }
            return (text, characterSet)
        }
    }

    /// `text` as bytes of this character set (what it cannot represent becomes `?`).
    public func encode(_ text: String) -> [UInt8] {
        switch self {
        case .utf8: return Array(text.utf8)
        case .ascii, .latin1:
            let limit: UInt32 = self == .ascii ? 0x7F : 0xFF
            return text.unicodeScalars.map { $0.value <= limit ? UInt8($0.value) : UInt8(ascii: "?") }
        case .gb18030:
            // GB 18030 encodes every Unicode code point, so conversion does not fail.
            return Self.convert(Array(text.utf8), from: "UTF-8", to: "GB18030") ?? Array(text.utf8)
        }
    }

    /// MSH-18 as written: the first segment split at its own field separator.
    static func declared(in bytes: [UInt8]) -> String? {
        guard bytes.count > 8, bytes.starts(with: Array("MSH".utf8)) else { return nil }
        let separator = bytes[3]
        let header = bytes.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let fields = header.split(separator: separator, omittingEmptySubsequences: false)
        // fields[0] is "MSH"; MSH-1 is the separator itself, so MSH-n is fields[n - 1].
        guard fields.count > 17 else { return nil }
        let value = String(decoding: fields[17], as: UTF8.self)
        return value.split(separator: "^").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// iconv(3) from glibc: one conversion, all or nothing.
    static func convert(_ bytes: [UInt8], from source: String, to target: String) -> [UInt8]? {
        let descriptor = iconv_open(target, source)
        guard descriptor != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(descriptor) }
        var input = bytes.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: bytes.count * 4 + 16)
        let written: Int? = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer = inBuffer.baseAddress
                var inLeft = inBuffer.count
                var outPointer = outBuffer.baseAddress
                var outLeft = outBuffer.count
                guard iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) != -1, inLeft == 0 else { return nil }
                return outBuffer.count - outLeft
            }
        }
        guard let written else { return nil }
        return output.prefix(written).map { UInt8(bitPattern: $0) }
    }
}
