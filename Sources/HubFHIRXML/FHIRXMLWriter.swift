public import HubFHIR
import HubXML

/// Writes a resource held as JSON in FHIR XML (R4 §2.7): elements in R4's order, primitives as
/// `value` attributes with their `id` and extensions, `id` and an extension's `url` as
/// attributes, resources inside resources wrapped in their element, a narrative's `div` as
/// XHTML.
///
/// A member the table does not know is an error rather than dropped: the hub answers with what
/// it stored or built, all of it valid, so an unknown member is a fault to see, not to hide.
public struct FHIRXMLWriter: Sendable {
    let table: StructureTable

    public init(table: StructureTable) {
        self.table = table
    }

    public func document(_ resource: JSONValue, pretty: Bool = false) throws(FHIRXMLError) -> [UInt8] {
        guard let object = resource.objectValue else { throw FHIRXMLError("a resource is a JSON object") }
        var writer = XMLWriter(pretty: pretty)
        try self.resource(object, into: &writer, declaringNamespace: true, depth: 0)
        return writer.bytes
    }

    private func resource(_ object: JSONObject, into writer: inout XMLWriter, declaringNamespace: Bool, depth: Int) throws(FHIRXMLError) {
        guard let type = object["resourceType"]?.stringValue,
            self.table.resources.contains(type) || self.table.wireResources.contains(type), let definition = self.table[type]
        else {
            throw FHIRXMLError("\(object["resourceType"]?.stringValue ?? "a resource without resourceType") cannot be written as XML")
        }
        writer.open(type, attributes: declaringNamespace ? [("xmlns", FHIRXML.namespace)] : [])
        try self.members(of: object, definition: definition, type: type, isResource: true, into: &writer, depth: depth)
        writer.close()
    }

    private func members(
        of object: JSONObject, definition: StructureTable.TypeDefinition, type: String, isResource: Bool, into writer: inout XMLWriter,
        depth: Int
    ) throws(FHIRXMLError) {
        guard depth < FHIRXML.maximumWriteDepth else { throw FHIRXMLError("elements nest deeper than \(FHIRXML.maximumWriteDepth)") }
        for key in object.keys where !(isResource && key == "resourceType") && key != "fhir_comments" {
            let name = key.hasPrefix("_") ? String(key.dropFirst()) : key
            guard let element = definition.elements[name], !key.hasPrefix("_") || FHIRPrimitive.isPrimitive(element.type) else {
                throw FHIRXMLError("\(key) is not an element of \(type)")
            }
        }
        for name in definition.order where !FHIRXML.isAttribute(name, of: type, isResource: isResource) {
            guard let element = definition.elements[name] else { continue }
            let values = object[name]?.elements ?? []
            switch element.type {
            case "Resource":
                for value in values {
                    guard let inner = value.objectValue else { throw FHIRXMLError("\(type).\(name) holds resources") }
                    writer.open(name)
                    try self.resource(inner, into: &writer, declaringNamespace: false, depth: depth + 1)
                    writer.close()
                }
            case "xhtml":
                for value in values {
                    guard let text = value.stringValue else { throw FHIRXMLError("\(type).\(name) is XHTML text") }
                    try Self.narrative(text, into: &writer)
                }
            case let primitive where FHIRPrimitive.isPrimitive(primitive):
                let extras = object["_" + name]?.elements ?? []
                for index in 0..<max(values.count, extras.count) {
                    let value = index < values.count ? values[index] : .null
                    let extra = index < extras.count ? extras[index].objectValue : nil
                    try self.primitive(name, value: value, extra: extra, into: &writer, depth: depth + 1)
                }
            default:
                for value in values {
                    guard let inner = value.objectValue else { throw FHIRXMLError("\(type).\(name) is a \(element.type), not a \(value.kindName)") }
                    try self.complex(name, object: inner, type: element.type, into: &writer, depth: depth + 1)
                }
            }
        }
    }

    private func complex(_ name: String, object: JSONObject, type: String, into writer: inout XMLWriter, depth: Int) throws(FHIRXMLError) {
        guard let definition = self.table[type] else { throw FHIRXMLError("\(type) has no table") }
        var attributes: [(String, String)] = []
        for attribute in ["id", "url"] where FHIRXML.isAttribute(attribute, of: type, isResource: false) {
            guard let value = object[attribute] else { continue }
            guard let text = value.stringValue else { throw FHIRXMLError("\(type).\(attribute) is a string") }
            attributes.append((attribute, text))
        }
        writer.open(name, attributes: attributes)
        try self.members(of: object, definition: definition, type: type, isResource: false, into: &writer, depth: depth)
        writer.close()
    }

    private func primitive(_ name: String, value: JSONValue, extra: JSONObject?, into writer: inout XMLWriter, depth: Int) throws(FHIRXMLError) {
        var attributes: [(String, String)] = []
        if let id = extra?["id"] {
            guard let text = id.stringValue else { throw FHIRXMLError("_\(name).id is a string") }
            attributes.append(("id", text))
        }
        switch value {
        case .null: break
        case .string(let text), .number(let text): attributes.append(("value", text))
        case .bool(let flag): attributes.append(("value", flag ? "true" : "false"))
        case .array, .object: throw FHIRXMLError("\(name) is a primitive, not a \(value.kindName)")
        }
        let extensions = extra?["extension"]?.elements ?? []
        guard !attributes.isEmpty || !extensions.isEmpty else { return }
        writer.open(name, attributes: attributes)
        for case let extensionValue in extensions {
            guard let object = extensionValue.objectValue else { throw FHIRXMLError("_\(name).extension holds objects") }
            try self.complex("extension", object: object, type: "Extension", into: &writer, depth: depth + 1)
        }
        writer.close()
    }

    /// A narrative's XHTML, checked by R4's rules (so that what is written is well-formed and
    /// safe to show) and written in the XHTML namespace.
    static func narrative(_ text: String, into writer: inout XMLWriter) throws(FHIRXMLError) {
        writer.write(try NarrativeXHTML.parse(text), inheritedNamespace: FHIRXML.namespace)
    }
}
