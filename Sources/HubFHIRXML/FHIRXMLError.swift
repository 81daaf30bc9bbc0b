/// Why a FHIR XML document could not be read, or a resource not written as one, saying where
/// when the document says.
public struct FHIRXMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The line of the element at fault, when reading.
    public var line: Int?

    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    public var description: String {
        guard let line, line > 0 else { return self.message }
        return "line \(line): \(self.message)"
    }
}

/// The namespaces and names FHIR XML (R4 §2.7) is written in.
public enum FHIRXML {
    public static let namespace = "http://hl7.org/fhir"
    public static let xhtmlNamespace = "http://www.w3.org/1999/xhtml"
    /// `xsi:schemaLocation` and its kin: allowed on any element and ignored.
    static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    /// How deeply elements of a body may nest: each level can be an object and an array in
    /// JSON, whose parser admits 64.
    static let maximumReadDepth = 32
    /// How deeply the writer descends into what the hub answers (stored resources passed the
    /// JSON parser's limit; a Bundle adds a few levels).
    static let maximumWriteDepth = 128

    /// Whether `name` is written as an XML attribute of an element of `type` rather than as a
    /// child element: `id` on everything but a resource, `url` on an extension.
    static func isAttribute(_ name: String, of type: String, isResource: Bool) -> Bool {
        (name == "id" && !isResource) || (name == "url" && type == "Extension")
    }

    /// The primitives JSON writes as numbers and booleans; every other primitive is a string.
    static func jsonKind(of primitive: String) -> JSONKind {
        switch primitive {
        case "boolean": .boolean
        case "integer", "positiveInt", "unsignedInt", "decimal": .number
        default: .string
        }
    }

    enum JSONKind { case boolean, number, string }
}
