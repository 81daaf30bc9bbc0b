/// Checks a resource against FHIR R4's element tables: every element known to its type, lists
/// where the element repeats and single values where it does not, required elements and choices
/// present, primitives well-formed, codes of required bindings in their value set, and reference
/// targets of the declared types.
///
/// It reports every problem it finds (up to `limit`), each naming its element, so a client fixes
/// them in one round trip.
public struct StructureValidator: Sendable {
    /// One rule a resource breaks.
    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// Unknown element, list where one value is allowed, object where a primitive is expected.
            case structure
            /// A required element or choice is missing.
            case required
            /// A primitive is malformed.
            case value
            /// A code outside its required value set.
            case code
            /// A reference to a resource type the element does not allow.
            case reference
        }

        public var kind: Kind
        /// FHIRPath-style location: `Observation.component[1].valueQuantity.value`.
        public var path: String
        public var message: String

        public var description: String { "\(self.path): \(self.message)" }
    }

    public let table: StructureTable
    public let limit: Int

    /// Where the walk is: components pushed and popped as it descends, joined into text only
    /// when there is an issue to report (most resources have none).
    struct Path {
        enum Component {
            case name(String)
            case index(Int)
        }
        var components: [Component]

        var text: String {
            var text = ""
            for component in self.components {
                switch component {
                case .name(let name): text += text.isEmpty ? name : "." + name
                case .index(let index): text += "[\(index)]"
                }
            }
            return text
        }

        func appending(_ name: String) -> String { self.text + "." + name }

        mutating func with<T>(_ component: Component, _ body: (inout Path) -> T) -> T {
            self.components.append(component)
            defer { self.components.removeLast() }
            return body(&self)
        }
    }

    /// Why a narrative's XHTML breaks R4's rules (nil when it does not); nil checks nothing.
    /// Injected because checking XHTML takes an XML parser, which this module does not link.
    public let narrativeProblem: (@Sendable (String) -> String?)?

    public init(table: StructureTable, limit: Int = 20, narrativeProblem: (@Sendable (String) -> String?)? = nil) {
        self.table = table
        self.limit = limit
        self.narrativeProblem = narrativeProblem
    }

    /// The problems of `resource` as a `type` (empty when it conforms).
    public func issues(in resource: JSONObject, as type: String) -> [Issue] {
        var issues: [Issue] = []
        var path = Path(components: [.name(type)])
        self.check(resource, as: type, path: &path, isResource: true, issues: &issues)
        return issues
    }

    private func check(_ object: JSONObject, as typeName: String, path: inout Path, isResource: Bool, issues: inout [Issue]) {
        guard let definition = self.table[typeName] else {
            issues.append(Issue(kind: .structure, path: path.text, message: "\(typeName) is not a type the hub supports"))
            return
        }
        var presentChoices: [String: String] = [:]
        for member in object.members {
            guard issues.count < self.limit else { return }
            var name = member.key
            if isResource, name == "resourceType" { continue }
            let isExtensionOfPrimitive = name.utf8.first == UInt8(ascii: "_")
            if isExtensionOfPrimitive { name.removeFirst() }
            guard let element = definition.elements[name] else {
                issues.append(Issue(kind: .structure, path: path.appending(member.key), message: "\(typeName) has no element \"\(name)\""))
                continue
            }
            if let group = element.choice, !isExtensionOfPrimitive {
                if let other = presentChoices[group] {
                    issues.append(
                        Issue(
                            kind: .structure, path: path.appending(member.key), message: "only one of \(group)[x] may appear (\(other) is there too)")
                    )
                    continue
                }
                presentChoices[group] = name
            }
            // A list of primitives may have gaps where only the `_name` list beside it has an
            // entry, and the other way round (R4 §2.6.2.3): both lists the same length, and no
            // index empty in both.
            let partner = object[isExtensionOfPrimitive ? name : "_" + name]?.arrayValue
            let isPrimitiveList = element.isList && FHIRPrimitive.isPrimitive(element.type)
            if isPrimitiveList, let partner, let values = member.value.arrayValue, partner.count != values.count, !isExtensionOfPrimitive {
                issues.append(Issue(kind: .structure, path: path.appending(member.key), message: "\(name) and _\(name) must have the same length"))
                continue
            }
            let gapAllowed: (Int) -> Bool = { index in
                isPrimitiveList && partner.map { index < $0.count && $0[index] != .null } ?? false
            }
            path.with(.name(member.key)) { path in
                if isExtensionOfPrimitive {
                    guard FHIRPrimitive.isPrimitive(element.type) else {
                        issues.append(Issue(kind: .structure, path: path.text, message: "\"_\(name)\" is only allowed for primitive elements"))
                        return
                    }
                    self.checkEach(member.value, element: element, gapAllowed: gapAllowed, path: &path, issues: &issues) { value, path, issues in
                        guard let extensionObject = value.objectValue else {
                            issues.append(Issue(kind: .structure, path: path.text, message: "must be an object (id, extension)"))
                            return
                        }
                        self.checkPrimitiveExtension(extensionObject, path: &path, issues: &issues)
                    }
                    return
                }
                self.checkEach(member.value, element: element, gapAllowed: gapAllowed, path: &path, issues: &issues) { value, path, issues in
                    self.checkValue(value, element: element, path: &path, issues: &issues)
                }
            }
        }
        for (name, element) in definition.elements.sorted(by: { $0.key < $1.key })
        where element.isRequired && object[name] == nil && object["_\(name)"] == nil {
            issues.append(Issue(kind: .required, path: path.appending(name), message: "\(typeName).\(name) is required"))
        }
        for group in definition.requiredChoices where presentChoices[group] == nil {
            issues.append(Issue(kind: .required, path: path.appending("\(group)[x]"), message: "one of \(typeName).\(group)[x] is required"))
        }
    }

    /// Applies the element's cardinality, then `body` to each value but the gaps `gapAllowed`
    /// admits (a null anywhere else is refused).
    private func checkEach(
        _ value: JSONValue,
        element: StructureTable.Element,
        gapAllowed: (Int) -> Bool,
        path: inout Path,
        issues: inout [Issue],
        _ body: (JSONValue, inout Path, inout [Issue]) -> Void
    ) {
        if element.isList {
            guard let values = value.arrayValue else {
                issues.append(Issue(kind: .structure, path: path.text, message: "repeats, so it must be a JSON array"))
                return
            }
            for (index, item) in values.enumerated() where issues.count < self.limit {
                path.with(.index(index)) { path in
                    guard item != .null else {
                        if !gapAllowed(index) {
                            issues.append(
                                Issue(kind: .structure, path: path.text, message: "null is allowed only where the list beside it has an entry"))
                        }
                        return
                    }
                    body(item, &path, &issues)
                }
            }
        } else {
            if value.arrayValue != nil {
                issues.append(Issue(kind: .structure, path: path.text, message: "does not repeat, so it must not be an array"))
                return
            }
            body(value, &path, &issues)
        }
    }

    private func checkValue(_ value: JSONValue, element: StructureTable.Element, path: inout Path, issues: inout [Issue]) {
        if FHIRPrimitive.isPrimitive(element.type) {
            if let problem = FHIRPrimitive.problem(with: value, as: element.type) {
                issues.append(Issue(kind: .value, path: path.text, message: "\(element.type) \(problem)"))
            } else if element.type == "xhtml", let text = value.stringValue, let problem = self.narrativeProblem?(text) {
                issues.append(Issue(kind: .value, path: path.text, message: problem))
            } else if let codes = element.codes, let code = value.stringValue, !codes.contains(code) {
                issues.append(Issue(kind: .code, path: path.text, message: "\"\(code)\" is not one of \(codes.sorted().joined(separator: ", "))"))
            }
            return
        }
        guard let object = value.objectValue else {
            issues.append(Issue(kind: .structure, path: path.text, message: "must be a JSON object (\(element.type))"))
            return
        }
        if element.type == "Resource" {
            guard let type = object["resourceType"]?.stringValue else {
                issues.append(Issue(kind: .required, path: path.appending("resourceType"), message: "a contained resource needs a resourceType"))
                return
            }
            guard self.table.resources.contains(type) else {
                issues.append(Issue(kind: .structure, path: path.text, message: "contained \(type) is not a type the hub supports"))
                return
            }
            self.check(object, as: type, path: &path, isResource: true, issues: &issues)
            return
        }
        self.check(object, as: element.type, path: &path, isResource: false, issues: &issues)
        if element.type == "Reference", let targets = element.targets, let reference = object["reference"]?.stringValue,
            let target = Self.literalType(of: reference), !targets.contains(target)
        {
            issues.append(
                Issue(
                    kind: .reference,
                    path: path.appending("reference"),
                    message: "must refer to \(targets.sorted().joined(separator: ", ")), not \(target)"
                ))
        }
    }

    /// `id` and `extension` only: what a primitive's `_element` may carry.
    private func checkPrimitiveExtension(_ object: JSONObject, path: inout Path, issues: inout [Issue]) {
        for member in object.members {
            switch member.key {
            case "id":
                if member.value.stringValue == nil {
                    issues.append(Issue(kind: .value, path: path.appending("id"), message: "must be a string"))
                }
            case "extension":
                let element = StructureTable.Element(type: "Extension", isRequired: false, isList: true)
                path.with(.name("extension")) { path in
                    self.checkEach(member.value, element: element, gapAllowed: { _ in false }, path: &path, issues: &issues) { value, path, issues in
                        self.checkValue(value, element: element, path: &path, issues: &issues)
                    }
                }
            default:
                issues.append(
                    Issue(kind: .structure, path: path.appending(member.key), message: "a primitive's extension holds only id and extension"))
            }
        }
    }

    /// The resource type of a relative literal reference (`Patient/1`, `Patient/1/_history/2`,
    /// or the same under a base URL); nil for `#local`, `urn:` and unparseable references.
    static func literalType(of reference: String) -> String? {
        if reference.hasPrefix("#") || reference.hasPrefix("urn:") { return nil }
        var parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        guard parts.count >= 2 else { return nil }
        let type = parts[parts.count - 2]
        guard let first = type.first, first.isUppercase else { return nil }
        return String(type)
    }
}

extension StructureTable.Element {
    init(type: String, isRequired: Bool, isList: Bool) {
        self.init(type: type, isRequired: isRequired, isList: isList, choice: nil, codes: nil, targets: nil)
    }
}
