/// A JSON value as FHIR needs it.
///
/// Foundation's JSON types lose what FHIR cares about: numbers keep their exact text here
/// (a FHIR `decimal` carries its precision — `1.50` is not `1.5`), object members keep their
/// order, and a key given twice is an error rather than silently the last one.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, validated against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberText: String? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// An element that may repeat, as a list: arrays as they are, anything else as one element.
    public var elements: [JSONValue] {
        if case .array(let values) = self { return values }
        return [self]
    }

    /// The JSON type's name, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object: members in document order, keys unique.
public struct JSONObject: Sendable, Equatable {
    public private(set) var members: [Member]

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public init() {
        self.members = []
    }

    /// An object from pairs; a later duplicate key replaces the earlier value.
    public init(_ pairs: [(String, JSONValue)]) {
        self.members = []
        for (key, value) in pairs { self[key] = value }
    }

    public subscript(key: String) -> JSONValue? {
        get { self.members.first { $0.key == key }?.value }
        set {
            if let index = self.members.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    self.members[index].value = newValue
                } else {
                    self.members.remove(at: index)
                }
            } else if let newValue {
                self.members.append(Member(key: key, value: newValue))
            }
        }
    }

    public var keys: [String] { self.members.map(\.key) }
    public var isEmpty: Bool { self.members.isEmpty }

    /// Appends without checking for duplicates (the parser checks).
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        self.members.append(Member(key: key, value: value))
    }
}

extension JSONValue {
    /// Equal as JSON values: objects with the same members whatever their order (RFC 8259
    /// objects are unordered), arrays element by element, scalars as they are.
    public func isEquivalent(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.object(let a), .object(let b)):
            return a.members.count == b.members.count
                && a.members.allSatisfy { member in b[member.key].map { member.value.isEquivalent(to: $0) } ?? false }
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEquivalent(to: $1) }
        default:
            return self == other
        }
    }
}
