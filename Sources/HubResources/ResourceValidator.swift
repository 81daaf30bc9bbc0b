import Foundation
public import HubFHIR

/// Checks a resource before it is stored: FHIR JSON's rules, the resource's shape, and the hub's
/// own profiles. Each problem names the element (`issue.expression`).
///
/// Checked today: the JSON rules of FHIR (no nulls, no empty arrays, objects or strings), element
/// names, `resourceType`, `id` syntax, reference syntax, and the Patient profile (identifiers from
/// known systems, resident ID check digit, gender and birth date). Per-type element tables and
/// value sets follow with the search index work (issue #4).
public struct ResourceValidator: Sendable {
    let identifierSystems: IdentifierSystems

    public init(identifierSystems: IdentifierSystems) {
        self.identifierSystems = identifierSystems
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
                throw ResourceError(.invalid, .invalid, "the id in the body (\(id)) differs from the URL's (\(expectedID))", expression: ["\(type.rawValue).id"])
            }
        } else if let id = object["id"], !(id.stringValue.map(Self.isValidID) ?? false) {
            throw ResourceError(.invalid, .value, "id must be 1-64 characters of A-Z a-z 0-9 - .", expression: ["\(type.rawValue).id"])
        }
        try Self.checkJSONRules(value, path: type.rawValue)
        if type == .patient {
            try self.checkPatientProfile(object)
        }
        return object
    }

    /// FHIR ids: `[A-Za-z0-9\-\.]{1,64}`.
    public static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
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
        case .array(let values):
            if values.isEmpty {
                throw ResourceError(.invalid, .structure, "empty arrays are not allowed in FHIR JSON", expression: [path])
            }
            for (index, element) in values.enumerated() {
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
                    throw ResourceError(.invalid, .value, "reference \"\(reference)\" is not Type/id, an absolute URL, #local or urn:uuid:", expression: [childPath])
                }
                if member.key != "resourceType" || path.contains(".") {
                    try Self.checkJSONRules(member.value, path: childPath)
                }
            }
        case .bool, .number:
            break
        }
    }

    static func isElementName(_ name: String) -> Bool {
        var scalars = Substring(name).unicodeScalars[...]
        if scalars.first == "_" { scalars = scalars.dropFirst() }
        guard let first = scalars.first, first.isASCII, CharacterSet.letters.contains(first) else { return false }
        return scalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
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
        if let gender = patient["gender"] {
            guard let code = gender.stringValue, ["male", "female", "other", "unknown"].contains(code) else {
                throw ResourceError(.invalid, .codeInvalid, "gender must be male, female, other or unknown", expression: ["Patient.gender"])
            }
        }
        if let birthDate = patient["birthDate"] {
            guard let text = birthDate.stringValue, Self.isFHIRDate(text) else {
                throw ResourceError(.invalid, .value, "birthDate must be a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)", expression: ["Patient.birthDate"])
            }
        }
    }

    static func isFHIRDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), parts[0].count == 4, parts.dropFirst().allSatisfy({ $0.count == 2 }),
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && Int($0) != nil })
        else { return false }
        if parts.count == 3 { return ResidentIDNumber.isValidDate(parts.joined()) }
        if parts.count == 2 { return (1...12).contains(Int(parts[1]) ?? 0) }
        return true
    }
}
