/// An HL7 v2 message in ER7 ("pipe and hat") encoding: segments of fields, components,
/// repetitions and subcomponents, with the delimiters the message declares in MSH-1 and MSH-2.
///
/// Field numbers follow the standard: `MSH-1` is the field separator itself, `MSH-9` the message
/// type; for other segments field 1 is the first after the segment id.
public struct HL7Message: Sendable {
    public struct Delimiters: Sendable, Equatable {
        public var field: Character = "|"
        public var component: Character = "^"
        public var repetition: Character = "~"
        public var escape: Character = "\\"
        public var subcomponent: Character = "&"
    }

    public struct Segment: Sendable {
        public var id: String
        /// Raw fields, `fields[n]` being field n (escape sequences still in place).
        var fields: [Substring]
        /// Its position among the message's segments, from 1.
        public var sequence: Int
    }

    public var delimiters: Delimiters
    public var segments: [Segment]

    /// The largest message accepted (a lab report with hundreds of results is far smaller).
    public static let maximumBytes = 1 << 20

    public init(parsing text: String) throws(HL7Error) {
        guard text.utf8.count <= Self.maximumBytes else {
            throw HL7Error(rejected: true, .applicationError, "the message is larger than \(Self.maximumBytes) bytes")
        }
        // Segments end with CR; LF and CRLF are accepted from tools that convert line ends.
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
        guard let header = lines.first, header.hasPrefix("MSH"), header.count >= 8 else {
            throw HL7Error(rejected: true, .segmentSequenceError, segment: "MSH", sequence: 1, "a message starts with an MSH segment")
        }
        let characters = Array(header)
        var delimiters = Delimiters()
        delimiters.field = characters[3]
        let encoding = characters[4...].prefix { $0 != delimiters.field }
        guard encoding.count >= 4, Set(encoding).count == encoding.count, !encoding.contains(delimiters.field),
            !delimiters.field.isLetter, !delimiters.field.isNumber
        else {
            throw HL7Error(
                rejected: true, .dataTypeError, segment: "MSH", sequence: 1, field: 2,
                "MSH-2 must declare four distinct encoding characters (e.g. ^~\\&)")
        }
        let encodingCharacters = Array(encoding)
        delimiters.component = encodingCharacters[0]
        delimiters.repetition = encodingCharacters[1]
        delimiters.escape = encodingCharacters[2]
        delimiters.subcomponent = encodingCharacters[3]
        self.delimiters = delimiters
        var segments: [Segment] = []
        for (index, line) in lines.enumerated() {
            let parts = line.split(separator: delimiters.field, omittingEmptySubsequences: false)
            let id = String(parts[0])
            guard id.count == 3, id.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
                throw HL7Error(
                    rejected: true, .segmentSequenceError, segment: id.isEmpty ? nil : String(id.prefix(8)), sequence: index + 1,
                    "not a segment id: \(id.prefix(8))")
            }
            var fields: [Substring]
            if id == "MSH" {
                // MSH-1 is the separator, MSH-2 the encoding characters.
                fields = [parts[0], Substring(String(delimiters.field))] + parts.dropFirst()
            } else {
                fields = Array(parts)
            }
            segments.append(Segment(id: id, fields: fields, sequence: index + 1))
        }
        self.segments = segments
    }

    /// The segments with this id, in order.
    public func segments(_ id: String) -> [Segment] { self.segments.filter { $0.id == id } }

    /// Field `n` of `segment`: its first repetition's components, each with escapes decoded.
    public func components(_ segment: Segment, _ n: Int) -> [String] {
        self.repetitions(segment, n).first ?? []
    }

    /// Every repetition of field `n`, as components.
    public func repetitions(_ segment: Segment, _ n: Int) -> [[String]] {
        guard n < segment.fields.count, !segment.fields[n].isEmpty else { return [] }
        return segment.fields[n].split(separator: self.delimiters.repetition, omittingEmptySubsequences: false).map { repetition in
            repetition.split(separator: self.delimiters.component, omittingEmptySubsequences: false).map { self.unescaped($0) }
        }
    }

    /// Field `n`'s first component (the whole value of a simple field).
    public func value(_ segment: Segment, _ n: Int) -> String? {
        let value = self.components(segment, n).first ?? ""
        return value.isEmpty ? nil : value
    }

    /// Decodes `\F\ \S\ \T\ \R\ \E\` (delimiters written as text); other escapes (formatting,
    /// hexadecimal) are dropped rather than stored as noise.
    func unescaped(_ text: Substring) -> String {
        let escape = self.delimiters.escape
        guard text.contains(escape) else { return String(text) }
        var result = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == escape else {
                result.append(character)
                continue
            }
            var code = ""
            while let next = iterator.next(), next != escape { code.append(next) }
            switch code {
            case "F": result.append(self.delimiters.field)
            case "S": result.append(self.delimiters.component)
            case "T": result.append(self.delimiters.subcomponent)
            case "R": result.append(self.delimiters.repetition)
            case "E": result.append(escape)
            default: break
            }
        }
        return result
    }
}
