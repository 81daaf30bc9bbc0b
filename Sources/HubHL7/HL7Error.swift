/// Why a message was refused, located the way an ACK's ERR segment locates it.
public struct HL7Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// HL7 table 0357 (message error condition codes) the hub uses.
    public enum Condition: String, Sendable {
        case segmentSequenceError = "100"
        case requiredFieldMissing = "101"
        case dataTypeError = "102"
        case tableValueNotFound = "103"
        case unsupportedMessageType = "200"
        case unsupportedVersion = "203"
        case unknownKeyIdentifier = "204"
        case applicationError = "207"
    }

    /// AR: the message as such is refused (unparseable, unsupported); AE: it was understood,
    /// its content is wrong.
    public var rejected: Bool
    public var condition: Condition
    /// Segment id, its position among segments (1-based) and field number, when known.
    public var segment: String?
    public var sequence: Int?
    public var field: Int?
    public var message: String

    public init(rejected: Bool = false, _ condition: Condition, segment: String? = nil, sequence: Int? = nil, field: Int? = nil, _ message: String) {
        self.rejected = rejected
        self.condition = condition
        self.segment = segment
        self.sequence = sequence
        self.field = field
        self.message = message
    }

    /// `PID-3` or `OBX(2)-5`.
    public var location: String {
        guard let segment else { return "message" }
        return "\(segment)\(self.sequence.map { "(\($0))" } ?? "")\(self.field.map { "-\($0)" } ?? "")"
    }

    public var description: String { "\(self.location): \(self.message)" }
}
