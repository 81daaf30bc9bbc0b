public import HubFHIR
import HubXML

/// Reads a resource in FHIR XML (R4 §2.7) as the JSON the rest of the hub speaks.
///
/// The structure table says what each element is: a primitive (its `value` attribute becomes a
/// JSON string, number or boolean, its `id` and extensions the `_name` sibling), a datatype, a
/// narrative's XHTML `div` (kept as its XML text), or a resource inside another. An element the
/// table does not know is an error, as is text where FHIR has none: nothing is silently dropped.
/// What the JSON then means is for the validator, as for a JSON body.
public struct FHIRXMLReader: Sendable {
    let table: StructureTable

    public init(table: StructureTable) {
        self.table = table
    }

    public func resource(from bytes: [UInt8]) throws(FHIRXMLError) -> JSONValue {
        let tree: XMLTree
        do {
            tree = try XMLTree(parsing: bytes)
        } catch {
            throw FHIRXMLError(error.description)
        }
        guard let root = tree.rootElement else { throw FHIRXMLError("the document has no root element") }
        return .object(try self.resource(root, depth: 0))
    }

    func resource(_ element: XMLElement, depth: Int) throws(FHIRXMLError) -> JSONObject {
        guard element.namespace == FHIRXML.namespace else {
            throw FHIRXMLError("<\(element.name)> is not in the FHIR namespace (\(FHIRXML.namespace))", line: element.line)
        }
        let type = element.name
        guard self.table.resources.contains(type) || self.table.wireResources.contains(type), let definition = self.table[type] else {
            throw FHIRXMLError("\(type) is not a resource type this server reads", line: element.line)
        }
        for attribute in element.attributes where attribute.namespace != FHIRXML.schemaInstanceNamespace {
            throw FHIRXMLError("a resource has no attributes (\(attribute.name) on \(type))", line: element.line)
        }
        var object = JSONObject([("resourceType", .string(type))])
        try self.members(of: element, definition: definition, type: type, isResource: true, into: &object, depth: depth)
        return object
    }

    func complex(_ element: XMLElement, type: String, depth: Int) throws(FHIRXMLError) -> JSONObject {
        guard let definition = self.table[type] else { throw FHIRXMLError("\(type) has no table", line: element.line) }
        var object = JSONObject()
        for attribute in element.attributes where attribute.namespace != FHIRXML.schemaInstanceNamespace {
            guard attribute.namespace == nil, FHIRXML.isAttribute(attribute.name, of: type, isResource: false) else {
                throw FHIRXMLError("<\(element.name)> has no attribute \(attribute.name)", line: element.line)
            }
            object[attribute.name] = .string(attribute.value)
        }
        try self.members(of: element, definition: definition, type: type, isResource: false, into: &object, depth: depth)
        guard !object.isEmpty else { throw FHIRXMLError("<\(element.name)> is empty: FHIR elements have content", line: element.line) }
        return object
    }

    /// The child elements of `element`, as members of `object`.
    private func members(
        of element: XMLElement, definition: StructureTable.TypeDefinition, type: String, isResource: Bool, into object: inout JSONObject,
        depth: Int
    ) throws(FHIRXMLError) {
        guard depth < FHIRXML.maximumReadDepth else {
            throw FHIRXMLError("elements nest deeper than \(FHIRXML.maximumReadDepth)", line: element.line)
        }
        try Self.checkNoText(in: element)
        // Repeats of an element are adjacent in FHIR XML; each name forms one group.
        var groups: [(name: String, definition: StructureTable.Element, elements: [XMLElement])] = []
        for child in element.elements {
            guard let childDefinition = definition.elements[child.name], !FHIRXML.isAttribute(child.name, of: type, isResource: isResource)
            else {
                throw FHIRXMLError("\(child.name) is not an element of \(type)", line: child.line)
            }
            let namespace = childDefinition.type == "xhtml" ? FHIRXML.xhtmlNamespace : FHIRXML.namespace
            guard child.namespace == namespace else {
                throw FHIRXMLError("<\(child.name)> must be in the namespace \(namespace)", line: child.line)
            }
            if let last = groups.indices.last, groups[last].name == child.name {
                groups[last].elements.append(child)
            } else {
                guard !groups.contains(where: { $0.name == child.name }) else {
                    throw FHIRXMLError("the repeats of \(child.name) must be adjacent", line: child.line)
                }
                groups.append((child.name, childDefinition, [child]))
            }
        }
        for (name, childDefinition, elements) in groups {
            guard childDefinition.isList || elements.count == 1 else {
                throw FHIRXMLError("\(type).\(name) appears more than once", line: elements[1].line)
            }
            if FHIRPrimitive.isPrimitive(childDefinition.type), childDefinition.type != "xhtml" {
                var values: [JSONValue] = []
                var extras: [JSONValue] = []
                for child in elements {
                    let (value, extra) = try self.primitive(child, type: childDefinition.type, depth: depth + 1)
                    values.append(value)
                    extras.append(extra.map(JSONValue.object) ?? .null)
                }
                if values.contains(where: { $0 != .null }) { object[name] = childDefinition.isList ? .array(values) : values[0] }
                if extras.contains(where: { $0 != .null }) { object["_" + name] = childDefinition.isList ? .array(extras) : extras[0] }
                continue
            }
            var values: [JSONValue] = []
            for child in elements {
                switch childDefinition.type {
                case "Resource":
                    try Self.checkNoText(in: child)
                    guard child.attributes.isEmpty, child.elements.count == 1, let inner = child.elements.first else {
                        throw FHIRXMLError("<\(name)> holds exactly one resource", line: child.line)
                    }
                    values.append(.object(try self.resource(inner, depth: depth + 1)))
                case "xhtml":
                    guard child.name == "div" else { throw FHIRXMLError("a narrative is a <div>", line: child.line) }
                    values.append(.string(child.serialized))
                default:
                    values.append(.object(try self.complex(child, type: childDefinition.type, depth: depth + 1)))
                }
            }
            object[name] = childDefinition.isList ? .array(values) : values[0]
        }
    }

    /// A primitive element: its value, and its `id` and extensions (the JSON `_name` object).
    private func primitive(_ element: XMLElement, type: String, depth: Int) throws(FHIRXMLError) -> (JSONValue, JSONObject?) {
        var value = JSONValue.null
        var extra = JSONObject()
        for attribute in element.attributes where attribute.namespace != FHIRXML.schemaInstanceNamespace {
            switch (attribute.namespace, attribute.name) {
            case (nil, "value"):
                value = try Self.value(attribute.value, type: type, line: element.line)
            case (nil, "id"):
                extra["id"] = .string(attribute.value)
            default:
                throw FHIRXMLError("<\(element.name)> has no attribute \(attribute.name)", line: element.line)
            }
        }
        try Self.checkNoText(in: element)
        var extensions: [JSONValue] = []
        for child in element.elements {
            guard child.name == "extension", child.namespace == FHIRXML.namespace else {
                throw FHIRXMLError("a primitive holds only extensions (<\(child.name)> in <\(element.name)>)", line: child.line)
            }
            extensions.append(.object(try self.complex(child, type: "Extension", depth: depth + 1)))
        }
        if !extensions.isEmpty { extra["extension"] = .array(extensions) }
        guard value != .null || !extra.isEmpty else {
            throw FHIRXMLError("<\(element.name)> has neither a value nor extensions", line: element.line)
        }
        return (value, extra.isEmpty ? nil : extra)
    }

    /// A `value` attribute as the JSON value R4's JSON form gives it.
    static func value(_ text: String, type: String, line: Int) throws(FHIRXMLError) -> JSONValue {
        guard !text.isEmpty else { throw FHIRXMLError("a value attribute is never empty", line: line) }
        switch FHIRXML.jsonKind(of: type) {
        case .boolean:
            guard text == "true" || text == "false" else { throw FHIRXMLError("a boolean is true or false", line: line) }
            return .bool(text == "true")
        case .number:
            guard Self.isNumber(text) else { throw FHIRXMLError("the value is not a valid \(type)", line: line) }
            return .number(text)
        case .string:
            return .string(text)
        }
    }

    /// R4's decimal (and JSON's number): `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isNumber(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let leadingZero = bytes.first == UInt8(ascii: "0")
        let integer = digits()
        guard integer > 0, !leadingZero || integer == 1 else { return false }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }

    /// FHIR elements hold elements and attributes; text between them may only be whitespace.
    private static func checkNoText(in element: XMLElement) throws(FHIRXMLError) {
        for case .text(let text) in element.children where !text.utf8.allSatisfy({ [9, 10, 13, 32].contains($0) }) {
            throw FHIRXMLError("<\(element.name)> holds text; FHIR puts values in value attributes", line: element.line)
        }
    }
}
