/// Splits a PostgreSQL script into statements.
///
/// PostgresNIO speaks only the extended query protocol, which runs one statement per message,
/// so a migration file is split here at top-level semicolons. Semicolons inside string
/// literals (`'…'`, `E'…'`), quoted identifiers (`"…"`), dollar-quoted bodies (`$$…$$`,
/// `$tag$…$tag$`) and comments (`-- …`, nested `/* … */`) do not split.
public enum SQLScript {
    public struct ParseError: Error, Sendable, Equatable {
        public var message: String
        /// 1-based line where the unterminated construct starts.
        public var line: Int
    }

    public static func statements(in script: String) throws(ParseError) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var statementStart = 0
        var index = 0
        var line = 1

        func flush(upTo end: Int) {
            let text = String(decoding: bytes[statementStart..<end], as: UTF8.self)
            if Self.hasCode(text) {
                statements.append(text.trimmingCharacters())
            }
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                index += 1
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                let startLine = line
                var depth = 0
                repeat {
                    if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "/"), bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "*"),
                        bytes[index + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        index += 2
                    } else {
                        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
                        index += 1
                    }
                } while depth > 0 && index < bytes.count
                if depth > 0 { throw ParseError(message: "unterminated /* comment", line: startLine) }
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let startLine = line
                // E'…' strings allow backslash escapes; standard strings double the quote.
                let backslashEscapes =
                    byte == UInt8(ascii: "'") && index > 0
                    && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                index += 1
                var closed = false
                while index < bytes.count {
                    let current = bytes[index]
                    if current == UInt8(ascii: "\n") { line += 1 }
                    if backslashEscapes, current == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if current == byte {
                        if index + 1 < bytes.count, bytes[index + 1] == byte {
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    index += 1
                }
                if !closed { throw ParseError(message: "unterminated quoted text", line: startLine) }
            case UInt8(ascii: "$"):
                // A dollar-quote tag is $ident$ or $$; a $ followed by digits is a parameter.
                var tagEnd = index + 1
                while tagEnd < bytes.count, Self.isTagByte(bytes[tagEnd]) { tagEnd += 1 }
                let isTag =
                    tagEnd < bytes.count && bytes[tagEnd] == UInt8(ascii: "$")
                    && (tagEnd == index + 1 || !Self.isDigit(bytes[index + 1]))
                guard isTag else {
                    index += 1
                    continue
                }
                let tag = Array(bytes[index...tagEnd])
                let startLine = line
                index = tagEnd + 1
                var closed = false
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "$"), index + tag.count <= bytes.count,
                        Array(bytes[index..<index + tag.count]) == tag
                    {
                        index += tag.count
                        closed = true
                        break
                    }
                    if bytes[index] == UInt8(ascii: "\n") { line += 1 }
                    index += 1
                }
                if !closed { throw ParseError(message: "unterminated dollar-quoted text", line: startLine) }
            case UInt8(ascii: ";"):
                flush(upTo: index)
                index += 1
                statementStart = index
            default:
                index += 1
            }
        }
        flush(upTo: bytes.count)
        return statements
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isTagByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte >= 0x80
    }

    /// True if `text` has anything besides white space and comments.
    private static func hasCode(_ text: String) -> Bool {
        var remaining = Substring(text)
        while !remaining.isEmpty {
            if remaining.first!.isWhitespace {
                remaining = remaining.dropFirst()
            } else if remaining.hasPrefix("--") {
                remaining = remaining.drop { $0 != "\n" }
            } else if remaining.hasPrefix("/*") {
                // Comments were validated by the splitter; skip to the matching close.
                var depth = 0
                while !remaining.isEmpty {
                    if remaining.hasPrefix("/*") {
                        depth += 1
                        remaining = remaining.dropFirst(2)
                    } else if remaining.hasPrefix("*/") {
                        depth -= 1
                        remaining = remaining.dropFirst(2)
                        if depth == 0 { break }
                    } else {
                        remaining = remaining.dropFirst()
                    }
                }
            } else {
                return true
            }
        }
        return false
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
