/// The lexical rules of FHIR R4's primitive types (R4 §2.24.0.1), as they appear in JSON.
public enum FHIRPrimitive {
    /// Whether `type` is one of the primitives the table names in lower camel case.
    public static func isPrimitive(_ type: String) -> Bool {
        type.first?.isLowercase ?? false
    }

    /// Nil when `value` is a valid `type`; otherwise why not, for an OperationOutcome.
    public static func problem(with value: JSONValue, as type: String) -> String? {
        switch type {
        case "boolean":
            return value.boolValue == nil ? "must be true or false" : nil
        case "integer", "positiveInt", "unsignedInt":
            guard let text = value.numberText, let number = Int32(text) else {
                return "must be a whole number (32-bit)"
            }
            if type == "positiveInt", number < 1 { return "must be 1 or more" }
            if type == "unsignedInt", number < 0 { return "must be 0 or more" }
            return nil
        case "decimal":
            return value.numberText == nil ? "must be a JSON number" : nil
        default:
            guard let text = value.stringValue else { return "must be a JSON string" }
            return Self.problem(withText: text, as: type)
        }
    }

    static func problem(withText text: String, as type: String) -> String? {
        switch type {
        case "code":
            // [^\s]+(\s[^\s]+)*: single spaces between non-space characters.
            var previousWasSpace = true
            for byte in text.utf8 {
                if Self.isASCIIWhitespace(byte) {
                    if previousWasSpace || byte != UInt8(ascii: " ") { return "a code has no leading, trailing or repeated whitespace" }
                    previousWasSpace = true
                } else {
                    previousWasSpace = false
                }
            }
            return previousWasSpace ? "a code has no leading, trailing or repeated whitespace" : nil
        case "id":
            return Self.isID(text) ? nil : "must be 1-64 characters of A-Z a-z 0-9 - ."
        case "uri", "url", "canonical":
            return text.utf8.contains(where: Self.isASCIIWhitespace) ? "a URI has no whitespace" : nil
        case "oid":
            return Self.isOID(text) ? nil : "must be urn:oid: followed by a dotted number"
        case "uuid":
            return Self.isUUID(text) ? nil : "must be urn:uuid: followed by a lower-case UUID"
        case "date":
            return Self.isDate(text) ? nil : "must be a date: YYYY, YYYY-MM or YYYY-MM-DD"
        case "dateTime":
            return Self.isDateTime(text, requireTime: false)
                ? nil : "must be a dateTime: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone"
        case "instant":
            return Self.isDateTime(text, requireTime: true) ? nil : "must be an instant: YYYY-MM-DDThh:mm:ss with a time zone"
        case "time":
            return Self.isTime(Substring(text)) ? nil : "must be a time: hh:mm:ss"
        case "base64Binary":
            return text.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+/= \n\r".unicodeScalars.contains($0))
            })
                ? nil : "must be base64"
        default:
            // string, markdown, xhtml: any non-empty text (emptiness is a JSON rule, checked apart).
            return nil
        }
    }

    static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `[A-Za-z0-9\-\.]{1,64}`.
    public static func isID(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
    }

    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, a real calendar date.
    public static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard [4, 7, 10].contains(bytes.count), let year = Self.digits(bytes, 0, 4) else { return false }
        if bytes.count == 4 { return true }
        guard bytes[4] == UInt8(ascii: "-"), let month = Self.digits(bytes, 5, 2), (1...12).contains(month) else { return false }
        if bytes.count == 7 { return true }
        guard bytes[7] == UInt8(ascii: "-"), let day = Self.digits(bytes, 8, 2) else { return false }
        return (1...Self.daysIn(month: month, year: year)).contains(day)
    }

    static func isDateTime(_ text: String, requireTime: Bool) -> Bool {
        guard let t = text.firstIndex(of: "T") else {
            return !requireTime && Self.isDate(text)
        }
        let date = String(text[..<t])
        guard date.utf8.count == 10, Self.isDate(date) else { return false }
        var rest = text[text.index(after: t)...]
        // A time needs a zone: Z or ±hh:mm.
        if rest.hasSuffix("Z") {
            rest = rest.dropLast()
        } else {
            guard rest.count > 6 else { return false }
            let zone = Array(rest.suffix(6).utf8)
            guard zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-"), zone[3] == UInt8(ascii: ":"),
                let hours = Self.digits(zone, 1, 2), let minutes = Self.digits(zone, 4, 2), hours <= 14, minutes < 60
            else { return false }
            rest = rest.dropLast(6)
        }
        return Self.isTime(rest)
    }

    /// `hh:mm:ss` with an optional fraction.
    static func isTime(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 8, let hour = Self.digits(bytes, 0, 2), bytes[2] == UInt8(ascii: ":"),
            let minute = Self.digits(bytes, 3, 2), bytes[5] == UInt8(ascii: ":"), let second = Self.digits(bytes, 6, 2),
            hour < 24, minute < 60, second < 60
        else { return false }
        if bytes.count == 8 { return true }
        return bytes[8] == UInt8(ascii: ".") && bytes.count > 9 && Self.digits(bytes, 9, bytes.count - 9) != nil
    }

    static func isOID(_ text: String) -> Bool {
        guard text.hasPrefix("urn:oid:") else { return false }
        let arcs = text.dropFirst(8).split(separator: ".", omittingEmptySubsequences: false)
        guard arcs.count >= 2, let first = arcs.first, ["0", "1", "2"].contains(first) else { return false }
        return arcs.allSatisfy { arc in
            !arc.isEmpty && arc.allSatisfy(\.isASCII) && arc.allSatisfy(\.isNumber) && (arc == "0" || arc.first != "0")
        }
    }

    static func isUUID(_ text: String) -> Bool {
        guard text.hasPrefix("urn:uuid:") else { return false }
        let groups = text.dropFirst(9).split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12]
            && groups.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) } }
    }

    static func digits(_ bytes: [UInt8], _ start: Int, _ length: Int) -> Int? {
        guard length > 0, start + length <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[start..<(start + length)] {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value &* 10 &+ Int(byte - 0x30)
        }
        return value
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
