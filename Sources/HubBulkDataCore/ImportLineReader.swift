public import HubFHIR
public import HubResourcesCore

/// One input's lines as the writes an import makes: each line parsed, validated as a single
/// create is (``ResourceValidator``), of the input's declared type, and its id and references
/// mapped into the importing organization's namespace (``ImportIdentity``). A line that fails is
/// a refusal naming it, never the end of the job.
public struct ImportLineReader: Sendable {
    public let validator: ResourceValidator
    public let identity: ImportIdentity
    /// The type the kick-off declared for the input.
    public let type: ResourceType

    public init(validator: ResourceValidator, identity: ImportIdentity, type: ResourceType) {
        self.validator = validator
        self.identity = identity
        self.type = type
    }

    /// The create one line asks for.
    public func write(_ line: ArraySlice<UInt8>) -> Result<WriteOperation, ResourceError> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(line))
        } catch {
            return .failure(ResourceError(.invalid, .structure, "the line is not a JSON object: \(error)"))
        }
        if let declared = value.objectValue?["resourceType"]?.stringValue, declared != self.type.rawValue {
            return .failure(
                ResourceError(
                    .invalid, .invalid, "resourceType is \(declared) but the input holds \(self.type.rawValue)", expression: ["resourceType"]))
        }
        do {
            let resource = try self.validator.validate(value, as: self.type, expectedID: nil)
            if let reference = ImportIdentity.absoluteRecordReference(in: resource) {
                return .failure(
                    ResourceError(
                        .unprocessable, .businessRule,
                        "an import refers to its own records as Type/id; \(reference) is an absolute reference to a patient's record"))
            }
            let (mapped, id) = self.identity.rewrite(resource, type: self.type)
            return .success(.create(self.type, id: id, mapped))
        } catch {
            return .failure(error)
        }
    }

    /// How many lines ``lines(_:)`` finds, counted without holding them.
    public static func count(_ bytes: [UInt8]) -> Int {
        var count = 0
        var blank = true
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                if !blank { count += 1 }
                blank = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                continue
            default:
                blank = false
            }
        }
        return blank ? count : count + 1
    }

    /// The lines of an input: its bytes split at line feeds (a carriage return before one is
    /// dropped), each with its 1-based line number; blank lines are skipped but counted.
    public static func lines(_ bytes: [UInt8]) -> [(number: Int, text: ArraySlice<UInt8>)] {
        var lines: [(number: Int, text: ArraySlice<UInt8>)] = []
        var start = bytes.startIndex
        var number = 0
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            number += 1
            var text = bytes[start..<end]
            if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
            if text.contains(where: { ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains($0) }) { lines.append((number, text)) }
            start = end < bytes.endIndex ? end + 1 : end
        }
        return lines
    }
}

/// The line of the error file (OperationOutcome NDJSON) that reports one refused line: which
/// input and line, why (the refusal's diagnostics and expression), and the status a single
/// create would have been answered with.
public struct ImportRefusal: Sendable, Equatable {
    public var input: Int
    public var type: ResourceType
    public var line: Int
    public var error: ResourceError

    public init(input: Int, type: ResourceType, line: Int, error: ResourceError) {
        self.input = input
        self.type = type
        self.line = line
        self.error = error
    }

    public var outcome: JSONValue {
        var issue = JSONObject([
            ("severity", .string("error")),
            ("code", .string(self.error.issueType.rawValue)),
            ("details", .object(JSONObject([("text", .string(self.error.code.statusLine))]))),
            ("diagnostics", .string("input \(self.input + 1) (\(self.type.rawValue)), line \(self.line): \(self.error.diagnostics)")),
        ])
        if let expression = self.error.expression { issue["expression"] = .array(expression.map { .string($0) }) }
        return .object(JSONObject([("resourceType", .string("OperationOutcome")), ("issue", .array([.object(issue)]))]))
    }
}
