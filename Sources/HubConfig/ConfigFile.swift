/// The hub's configuration file: a strict subset of TOML.
///
/// Supported: `# comments`, `[section]` headers, and `key = value` lines whose value is a
/// basic string (`"…"` with `\"`, `\\`, `\n`, `\t` escapes), a literal string (`'…'`), an
/// integer (`8443`, `1_048_576`) or a boolean. Every key belongs to a section. Anything else —
/// arrays, tables inline, dotted keys, a key given twice — is an error naming the line, because
/// a configuration that is silently half-read is worse than one that is refused.
public struct ConfigFile: Sendable, Equatable {
    /// The values, keyed by `section.key`.
    public private(set) var entries: [String: ConfigEntry]

    /// Parses `text`; `name` is used in error origins (`hub.toml:3`).
    public init(parsing text: String, name: String) throws(ConfigurationError) {
        var entries: [String: ConfigEntry] = [:]
        var section: String?
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let origin = "\(name):\(lineNumber)"
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }

            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    throw ConfigurationError(setting: name, message: "section header is not closed", origin: origin)
                }
                let header = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close]).trimmingSpaces()
                let rest = trimmed[trimmed.index(after: close)...].trimmingSpaces()
                guard Self.isIdentifier(header), rest.isEmpty || rest.hasPrefix("#") else {
                    throw ConfigurationError(setting: name, message: "malformed section header", origin: origin)
                }
                section = header
                continue
            }

            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError(setting: name, message: "expected `key = value`", origin: origin)
            }
            let key = String(trimmed[..<equals]).trimmingSpaces()
            guard Self.isIdentifier(key) else {
                throw ConfigurationError(setting: name, message: "malformed key", origin: origin)
            }
            guard let section else {
                throw ConfigurationError(setting: key, message: "setting outside any [section]", origin: origin)
            }
            let setting = "\(section).\(key)"
            let value = try Self.parseValue(trimmed[trimmed.index(after: equals)...], setting: setting, origin: origin)
            guard entries[setting] == nil else {
                throw ConfigurationError(setting: setting, message: "set more than once", origin: origin)
            }
            entries[setting] = ConfigEntry(value: value, origin: origin)
        }
        self.entries = entries
    }

    private static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "_")
            }
    }

    private static func parseValue(
        _ raw: Substring,
        setting: String,
        origin: String
    ) throws(ConfigurationError) -> ConfigValue {
        let text = Substring(raw.trimmingSpaces())
        func malformed(_ message: String) -> ConfigurationError {
            ConfigurationError(setting: setting, message: message, origin: origin)
        }
        func requireOnlyComment(after rest: Substring) throws(ConfigurationError) {
            let tail = rest.trimmingSpaces()
            guard tail.isEmpty || tail.hasPrefix("#") else { throw malformed("unexpected text after the value") }
        }

        guard let first = text.first else { throw malformed("missing value") }
        switch first {
        case "\"":
            var result = ""
            var index = text.index(after: text.startIndex)
            while index < text.endIndex {
                let character = text[index]
                if character == "\"" {
                    try requireOnlyComment(after: text[text.index(after: index)...])
                    return .string(result)
                }
                if character == "\\" {
                    index = text.index(after: index)
                    guard index < text.endIndex else { break }
                    switch text[index] {
                    case "\"": result.append("\"")
                    case "\\": result.append("\\")
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    default: throw malformed("unsupported escape \\\(text[index])")
                    }
                } else {
                    result.append(character)
                }
                index = text.index(after: index)
            }
            throw malformed("string is not closed")
        case "'":
            let body = text.dropFirst()
            guard let close = body.firstIndex(of: "'") else { throw malformed("string is not closed") }
            try requireOnlyComment(after: body[body.index(after: close)...])
            return .string(String(body[..<close]))
        default:
            let token: Substring
            if let hash = text.firstIndex(of: "#") {
                token = Substring(text[..<hash].trimmingSpaces())
            } else {
                token = text
            }
            if token == "true" { return .boolean(true) }
            if token == "false" { return .boolean(false) }
            let digits = token.filter { $0 != "_" }
            if !token.hasPrefix("_"), !token.hasSuffix("_"), let number = Int(digits) {
                return .integer(number)
            }
            throw malformed("expected a quoted string, a whole number, true or false")
        }
    }
}
