import Foundation
public import HubConfig
public import HubFHIR
import HubFHIRXML

/// Checks a resource before it is stored: FHIR JSON's rules, the resource's shape, and the hub's
/// own profiles. Each problem names the element (`issue.expression`).
///
/// In order: the JSON rules of FHIR (no nulls, no empty arrays, objects or strings), `resourceType`
/// and `id`, reference syntax; then the R4 element tables (``StructureValidator``: elements,
/// cardinality, datatypes, required value sets, reference targets) — all 400, as the base
/// specification is broken; then the hub's own profiles (identifiers from known systems, the
/// resident ID check digit) — 422.
public struct ResourceValidator: Sendable {
    public let identifierSystems: IdentifierSystems
    let structure: StructureValidator

    /// R4's element tables the validator checks against (also what the XML form is written by).
    public var structureTable: StructureTable { self.structure.table }

    public init(identifierSystems: IdentifierSystems, structure: StructureTable) {
        self.identifierSystems = identifierSystems
        self.structure = StructureValidator(table: structure, narrativeProblem: NarrativeXHTML.problem(with:))
    }

    /// Reads the profiles (`identifier-systems.toml`, `r4-structure.json`) from `directory`.
    public static func load(profilesDirectory directory: String) throws(ConfigurationError) -> ResourceValidator {
        let identifierSystems = try IdentifierSystems.load(directory: directory)
        let table: StructureTable
        do {
            table = try StructureTable(contentsOf: URL(fileURLWithPath: directory + "/r4-structure.json"))
        } catch {
            throw ConfigurationError(setting: "fhir.profiles_directory", message: error.description)
        }
        return ResourceValidator(identifierSystems: identifierSystems, structure: table)
    }

    /// The resource's JSON object, validated as a `type`.
    ///
    /// - Parameter expectedID: For an update, the id in the URL (the body must carry the same);
    ///   nil for a create (any id in the body is replaced by the server's).
    public func validate(_ value: JSONValue, as type: ResourceType, expectedID: String?) throws(ResourceError) -> JSONObject {
        guard let object = value.objectValue else {
            throw ResourceError(.invalid, .structure, "the body must be a JSON object (a FHIR resource)")
        }
        guard let resourceType = object["resourceType"]?.stringValue else {
            throw ResourceError(.invalid, .required, "resourceType is missing", expression: ["resourceType"])
        }
        guard resourceType == type.rawValue else {
            throw ResourceError(
                .invalid,
                .invalid,
                "resourceType is \(resourceType) but the URL names \(type.rawValue)",
                expression: ["resourceType"]
            )
        }
        if let expectedID {
            guard let id = object["id"]?.stringValue else {
                throw ResourceError(.invalid, .required, "an update must carry the resource's id", expression: ["\(type.rawValue).id"])
            }
            guard id == expectedID else {
                throw ResourceError(
                    .invalid, .invalid, "the id in the body (\(id)) differs from the URL's (\(expectedID))", expression: ["\(type.rawValue).id"])
            }
        } else if let id = object["id"], !(id.stringValue.map(Self.isValidID) ?? false) {
            throw ResourceError(.invalid, .value, "id must be 1-64 characters of A-Z a-z 0-9 - .", expression: ["\(type.rawValue).id"])
        }
        try Self.checkJSONRules(value, path: type.rawValue)
        try self.checkStructure(object, as: type)
        try Self.checkReservedIdentifiers(object, as: type)
        try Self.checkReservedTags(object, as: type)
        if type == .patient {
            try self.checkPatientProfile(object)
        }
        return object
    }

    /// The identifier systems the hub issues itself (its directory's organizations and
    /// principals, `DirectoryResources`): no client may claim them, or a search by them would
    /// find a forgery beside the hub's own resource.
    public static let reservedIdentifierSystems: Set = ["urn:health-hub:organization", "urn:health-hub:principal"]

    static func checkReservedIdentifiers(_ object: JSONObject, as type: ResourceType) throws(ResourceError) {
        let identifiers = object["identifier"].map { $0.arrayValue ?? [$0] } ?? []
        for (index, identifier) in identifiers.enumerated() {
            guard let system = identifier.objectValue?["system"]?.stringValue, Self.reservedIdentifierSystems.contains(system) else { continue }
            throw ResourceError(
                .unprocessable, .businessRule, "identifiers of \(system) are issued by the hub's directory, not by clients",
                expression: ["\(type.rawValue).identifier[\(index)].system"])
        }
    }

    /// The top-level elements R4 makes mandatory for `type` (cardinality 1..), and the members of
    /// its required choices: what `_summary=text` keeps beside `text`, `id` and `meta`.
    public func mandatoryElements(of type: ResourceType) -> Set<String> {
        guard let definition = self.structure.table[type.rawValue] else { return [] }
        let required = definition.elements.filter { $0.value.isRequired }.map(\.key)
        let choices = definition.elements.filter { element in element.value.choice.map(definition.requiredChoices.contains) ?? false }.map(\.key)
        return Set(required + choices)
    }

    /// The tag system of the mutual-recognition mark, which the hub adds to results as it
    /// returns them (by its policy, at the time of the answer) and never stores.
    public static let mutualRecognitionTagSystem = "urn:health-hub:mutual-recognition"

    /// Tags only the hub sets, on what it returns: the mutual-recognition mark (a client storing
    /// it would have a result shown as recognised by a policy that never recognised it) and
    /// SUBSETTED (a part written back would replace the whole).
    static func checkReservedTags(_ object: JSONObject, as type: ResourceType) throws(ResourceError) {
        for (index, tag) in (object["meta"]?.objectValue?["tag"]?.arrayValue ?? []).enumerated() {
            guard let coding = tag.objectValue else { continue }
            if coding["system"]?.stringValue == Self.mutualRecognitionTagSystem {
                throw ResourceError(
                    .unprocessable, .businessRule, "the mutual-recognition tag is set by the hub as it answers, never stored",
                    expression: ["\(type.rawValue).meta.tag[\(index)]"])
            }
            if ResourceSummary.isSubsettedTag(coding) {
                throw ResourceError(
                    .unprocessable, .businessRule, "a SUBSETTED resource is a part of one (_summary, _elements): it cannot be written back",
                    expression: ["\(type.rawValue).meta.tag[\(index)]"])
            }
        }
    }

    /// FHIR ids: `[A-Za-z0-9\-\.]{1,64}`.
    public static func isValidID(_ id: String) -> Bool {
        FHIRPrimitive.isID(id)
    }

    func checkStructure(_ object: JSONObject, as type: ResourceType) throws(ResourceError) {
        let issues = self.structure.issues(in: object, as: type.rawValue)
        guard let first = issues.first else { return }
        func issueType(_ kind: StructureValidator.Issue.Kind) -> OperationOutcome.Issue.IssueType {
            switch kind {
            case .structure: .structure
            case .required: .required
            case .value, .reference: .value
            case .code: .codeInvalid
            }
        }
        var error = ResourceError(.invalid, issueType(first.kind), first.message, expression: [first.path])
        error.additionalIssues = issues.dropFirst().map {
            OperationOutcome.Issue(severity: .error, code: issueType($0.kind), diagnostics: $0.message, expression: [$0.path])
        }
        throw error
    }

    /// FHIR JSON (R4 §2.6.2): no nulls, no empty arrays, objects or strings; element names are
    /// identifiers (with `_` for a primitive's extensions); references well-formed.
    static func checkJSONRules(_ value: JSONValue, path: String) throws(ResourceError) {
        switch value {
        case .null:
            throw ResourceError(.invalid, .structure, "null is not allowed in FHIR JSON", expression: [path])
        case .string(let text):
            if text.isEmpty {
                throw ResourceError(.invalid, .value, "empty strings are not allowed in FHIR JSON", expression: [path])
            }
            // R4 §2.1.28.0.1: no character below U+0020 but tab, carriage return and line feed.
            if text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\r" && $0 != "\n" }) {
                throw ResourceError(
                    .invalid, .value, "strings may not hold control characters other than tab, carriage return and line feed", expression: [path])
            }
        case .array(let values):
            if values.isEmpty {
                throw ResourceError(.invalid, .structure, "empty arrays are not allowed in FHIR JSON", expression: [path])
            }
            // A null in a list is a gap of a primitive list, which the structure check pairs with
            // the `_name` list beside it (and refuses anywhere else).
            for (index, element) in values.enumerated() where element != .null {
                try Self.checkJSONRules(element, path: "\(path)[\(index)]")
            }
        case .object(let object):
            if object.isEmpty {
                throw ResourceError(.invalid, .structure, "empty objects are not allowed in FHIR JSON", expression: [path])
            }
            for member in object.members {
                guard Self.isElementName(member.key) else {
                    throw ResourceError(.invalid, .structure, "\"\(member.key)\" is not a FHIR element name", expression: [path])
                }
                let childPath = "\(path).\(member.key)"
                if member.key == "reference", let reference = member.value.stringValue, !Self.isValidReference(reference) {
                    throw ResourceError(
                        .invalid, .value, "reference \"\(reference)\" is not Type/id, an absolute URL, #local or urn:uuid:", expression: [childPath])
                }
                if member.key != "resourceType" || path.contains(".") {
                    try Self.checkJSONRules(member.value, path: childPath)
                }
            }
        case .bool, .number:
            break
        }
    }

    /// `[A-Za-z][A-Za-z0-9_]*`, optionally after one `_` (a primitive's extensions).
    static func isElementName(_ name: String) -> Bool {
        var bytes = Substring(name).utf8[...]
        if bytes.first == UInt8(ascii: "_") { bytes = bytes.dropFirst() }
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
        guard let first = bytes.first, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
    }

    static func isValidReference(_ reference: String) -> Bool {
        if reference.hasPrefix("#") || reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") { return true }
        if reference.hasPrefix("https://") || reference.hasPrefix("http://") { return true }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        // Type/id or Type/id/_history/version
        guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history") else { return false }
        guard let first = parts[0].first, first.isUppercase, parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return false
        }
        return Self.isValidID(String(parts[1]))
    }

    /// The hub's Patient profile (profiles/fhir/identifier-systems.toml, docs/fhir.md).
    func checkPatientProfile(_ patient: JSONObject) throws(ResourceError) {
        let identifiers = patient["identifier"]?.arrayValue ?? []
        var known = false
        for (index, identifier) in identifiers.enumerated() {
            let path = "Patient.identifier[\(index)]"
            guard let object = identifier.objectValue else {
                throw ResourceError(.invalid, .structure, "an identifier is an object", expression: [path])
            }
            guard let system = object["system"]?.stringValue else { continue }
            if self.identifierSystems.isKnown(system) { known = true }
            if system == self.identifierSystems.residentID {
                guard let value = object["value"]?.stringValue else {
                    throw ResourceError(.unprocessable, .required, "a resident ID identifier needs a value", expression: ["\(path).value"])
                }
                if let problem = ResidentIDNumber.problem(with: value) {
                    throw ResourceError(.unprocessable, .value, problem, expression: ["\(path).value"])
                }
            }
        }
        guard known else {
            throw ResourceError(
                .unprocessable,
                .required,
                "a Patient needs at least one identifier from a known system (resident ID, social-security card or a hospital MRN)",
                expression: ["Patient.identifier"]
            )
        }
    }
}
