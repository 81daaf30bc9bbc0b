public import Foundation

/// The ACK a receiver answers every message with (original acknowledgement mode): `AA` it was
/// stored, `AE` it was understood but its content is wrong, `AR` it was refused as such — the
/// last two with an ERR segment that locates the problem (segment, sequence, field) and names
/// the HL7 table 0357 condition.
public struct HL7Acknowledgement: Sendable, Equatable {
    public enum Code: String, Sendable {
        case accepted = "AA"
        case error = "AE"
        case rejected = "AR"
    }

    public var code: Code
    public var text: String
    public var error: HL7Error?

    public init(code: Code, text: String, error: HL7Error? = nil) {
        self.code = code
        self.text = text
        self.error = error
    }

    public init(_ error: HL7Error) {
        self.init(code: error.rejected ? .rejected : .error, text: error.description, error: error)
    }

    /// The ACK message, answering `original` (whose MSH gives the addressees and control id;
    /// a message too broken to have one is answered to nobody in particular).
    public func encoded(answering original: HL7Message?, controlID: String, at time: Date = Date()) -> String {
        let header = original?.segments.first { $0.id == "MSH" }
        func field(_ n: Int) -> String {
            guard let original, let header else { return "" }
            return Self.escaped(original.value(header, n) ?? "")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyyMMddHHmmssZ"
        // The ACK declares the character set it is sent in: the original's (MSH-18).
        let characterSet = field(18)
        var segments = [
            "MSH|^~\\&|HEALTH-HUB|HEALTH-HUB|\(field(3))|\(field(4))|\(formatter.string(from: time))||ACK^R01^ACK|\(Self.escaped(controlID))|P|2.5"
                + (characterSet.isEmpty ? "" : "||||||\(characterSet)"),
            "MSA|\(self.code.rawValue)|\(field(10))|\(Self.escaped(self.text))",
        ]
        if let error {
            let location = [error.segment ?? "", error.sequence.map(String.init) ?? "", error.field.map(String.init) ?? ""].joined(separator: "^")
            segments.append("ERR||\(location)|\(error.condition.rawValue)^^HL70357|E||||\(Self.escaped(error.message))")
        }
        return segments.joined(separator: "\r") + "\r"
    }

    /// Text with the standard delimiters escaped.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\E\\"
            case "|": result += "\\F\\"
            case "^": result += "\\S\\"
            case "&": result += "\\T\\"
            case "~": result += "\\R\\"
            case "\r", "\n": result += " "
            default: result.append(character)
            }
        }
        return result
    }
}
