/// A strict JSON parser (RFC 8259) producing ``JSONValue``.
///
/// Refuses what a FHIR server must refuse with a clear message: invalid UTF-8, duplicate keys,
/// nesting deeper than a limit (a request cannot exhaust the stack), trailing content, and
/// everything outside the JSON grammar. Errors carry line and column.
public struct JSONParser {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var line: Int
        public var column: Int

        public var description: String { "\(self.message) at line \(self.line), column \(self.column)" }
    }

    /// Parses `bytes` as one JSON document.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 64) throws(ParseError) -> JSONValue {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ParseError(message: "the body is not valid UTF-8", line: 1, column: 1)
        }
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected content after the JSON value")
        }
        return value
    }

    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var index = 0

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func error(_ message: String) -> ParseError {
        var line = 1
        var column = 1
        for byte in self.bytes[0..<min(self.index, self.bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return ParseError(message: message, line: line, column: column)
    }

    private mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }

    private var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(ParseError) -> JSONValue {
        let expected = Array(literal.utf8)
        guard self.index + expected.count <= self.bytes.count,
            Array(self.bytes[self.index..<(self.index + expected.count)]) == expected
        else {
            throw self.error("unexpected character")
        }
        self.index += expected.count
        return value
    }

    private mutating func parseValue(depth: Int) throws(ParseError) -> JSONValue {
        guard let byte = self.current else { throw self.error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try self.parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try self.parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.expect("true", .bool(true))
        case UInt8(ascii: "f"): return try self.expect("false", .bool(false))
        case UInt8(ascii: "n"): return try self.expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.parseNumber())
        default: throw self.error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(ParseError) -> JSONValue {
        guard depth <= self.maximumDepth else { throw self.error("nesting deeper than \(self.maximumDepth)") }
        self.index += 1
        var object = JSONObject()
        var seen = Set<String>()
        self.skipWhitespace()
        if self.current == UInt8(ascii: "}") {
            self.index += 1
            return .object(object)
        }
        while true {
            self.skipWhitespace()
            guard self.current == UInt8(ascii: "\"") else { throw self.error("expected a quoted member name") }
            let keyStart = self.index
            let key = try self.parseString()
            guard seen.insert(key).inserted else {
                self.index = keyStart
                throw self.error("duplicate member \"\(key)\"")
            }
            self.skipWhitespace()
            guard self.current == UInt8(ascii: ":") else { throw self.error("expected ':'") }
            self.index += 1
            self.skipWhitespace()
            object.appendUnchecked(key, try self.parseValue(depth: depth))
            self.skipWhitespace()
            switch self.current {
            case UInt8(ascii: ","): self.index += 1
            case UInt8(ascii: "}"):
                self.index += 1
                return .object(object)
            default: throw self.error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(ParseError) -> JSONValue {
        guard depth <= self.maximumDepth else { throw self.error("nesting deeper than \(self.maximumDepth)") }
        self.index += 1
        var values: [JSONValue] = []
        self.skipWhitespace()
        if self.current == UInt8(ascii: "]") {
            self.index += 1
            return .array(values)
        }
        while true {
            self.skipWhitespace()
            values.append(try self.parseValue(depth: depth))
            self.skipWhitespace()
            switch self.current {
            case UInt8(ascii: ","): self.index += 1
            case UInt8(ascii: "]"):
                self.index += 1
                return .array(values)
            default: throw self.error("expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(ParseError) -> String {
        self.index += 1
        var runStart = self.index
        var result = ""
        func flushRun(_ end: Int) {
            if end > runStart {
                result += String(decoding: self.bytes[runStart..<end], as: UTF8.self)
            }
        }
        while true {
            guard let byte = self.current else { throw self.error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                flushRun(self.index)
                self.index += 1
                return result
            case UInt8(ascii: "\\"):
                flushRun(self.index)
                self.index += 1
                guard let escape = self.current else { throw self.error("unterminated escape") }
                self.index += 1
                switch escape {
                case UInt8(ascii: "\""): result += "\""
                case UInt8(ascii: "\\"): result += "\\"
                case UInt8(ascii: "/"): result += "/"
                case UInt8(ascii: "b"): result += "\u{08}"
                case UInt8(ascii: "f"): result += "\u{0C}"
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "u"):
                    var code = try self.parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard self.current == UInt8(ascii: "\\"), self.index + 1 < self.bytes.count,
                            self.bytes[self.index + 1] == UInt8(ascii: "u")
                        else { throw self.error("unpaired surrogate in \\u escape") }
                        self.index += 2
                        let low = try self.parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw self.error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw self.error("unpaired surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw self.error("invalid \\u escape") }
                    result.unicodeScalars.append(scalar)
                default:
                    throw self.error("invalid escape")
                }
                runStart = self.index
            case 0x00..<0x20:
                throw self.error("control character in string (escape it)")
            default:
                self.index += 1
            }
        }
    }

    private mutating func parseHex4() throws(ParseError) -> UInt32 {
        guard self.index + 4 <= self.bytes.count else { throw self.error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw self.error("invalid \\u escape")
            }
            value = value << 4 | digit
            self.index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(ParseError) -> String {
        let start = self.index
        func digits() -> Int {
            let begin = self.index
            while let byte = self.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.index += 1 }
            return self.index - begin
        }
        if self.current == UInt8(ascii: "-") { self.index += 1 }
        if self.current == UInt8(ascii: "0") {
            self.index += 1
            if let byte = self.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                throw self.error("leading zero in number")
            }
        } else if digits() == 0 {
            throw self.error("invalid number")
        }
        if self.current == UInt8(ascii: ".") {
            self.index += 1
            guard digits() > 0 else { throw self.error("invalid number") }
        }
        if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
            self.index += 1
            if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.index += 1 }
            guard digits() > 0 else { throw self.error("invalid number") }
        }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }
}
