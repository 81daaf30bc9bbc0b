public import Foundation

/// The element tables of FHIR R4's resources and datatypes, as the hub validates them.
///
/// Loaded once at start from `profiles/fhir/r4-structure.json`, which `ops/gen/fhir-structure`
/// derives from the independent `fhir.resources` R4 models: adding a resource type is a
/// regenerated table, not new code.
public struct StructureTable: Sendable {
    /// One element of a type: its JSON name (`valueQuantity` for a choice), datatype and rules.
    public struct Element: Sendable, Equatable {
        /// A FHIR primitive (`code`, `dateTime`, …), a datatype (`CodeableConcept`), a backbone
        /// element's table name (`PatientContact`), or `Resource` for contained resources.
        public var type: String
        public var isRequired: Bool
        public var isList: Bool
        /// The choice group (`value` for `value[x]`); at most one member may appear.
        public var choice: String?
        /// The codes of a required binding.
        public var codes: Set<String>?
        /// The resource types a Reference may point at (nil: any).
        public var targets: Set<String>?
    }

    public struct TypeDefinition: Sendable {
        public var elements: [String: Element]
        /// The elements in R4's order (choices expanded in place), which FHIR XML follows.
        public var order: [String]
        /// Choice groups of which exactly one member must appear.
        public var requiredChoices: [String]
    }

    public let fhirVersion: String
    /// Resource types the table was generated for: the types the hub stores.
    public let resources: Set<String>
    /// Resource types the hub answers with or takes as operation input but never stores
    /// (Bundle, OperationOutcome, Parameters, …): tabled for the XML wire format only.
    public let wireResources: Set<String>
    public let types: [String: TypeDefinition]

    public subscript(type: String) -> TypeDefinition? { self.types[type] }

    /// Reads a table from its JSON file.
    public init(contentsOf url: URL) throws(StructureTableError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw StructureTableError(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(json: data, path: url.path)
    }

    public init(json data: Data, path: String = "(inline)") throws(StructureTableError) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(Array(data))
        } catch {
            throw StructureTableError(path: path, reason: "is not JSON: \(error)")
        }
        guard let document = root.objectValue, let version = document["fhirVersion"]?.stringValue,
            let resources = document["resources"]?.arrayValue, let types = document["types"]?.objectValue
        else {
            throw StructureTableError(path: path, reason: "needs fhirVersion, resources and types")
        }
        self.fhirVersion = version
        self.resources = Set(resources.compactMap(\.stringValue))
        self.wireResources = Set(document["wireResources"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var definitions: [String: TypeDefinition] = [:]
        for member in types.members {
            guard let elements = member.value.objectValue?["elements"]?.objectValue else {
                throw StructureTableError(path: path, reason: "type \(member.key) has no elements")
            }
            var table: [String: Element] = [:]
            for element in elements.members {
                guard let object = element.value.objectValue, let type = object["type"]?.stringValue else {
                    throw StructureTableError(path: path, reason: "\(member.key).\(element.key) has no type")
                }
                table[element.key] = Element(
                    type: type,
                    isRequired: object["min"]?.numberText == "1",
                    isList: object["max"]?.stringValue == "*",
                    choice: object["choice"]?.stringValue,
                    codes: object["codes"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
                    targets: object["targets"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
                )
            }
            let required = member.value.objectValue?["requiredChoices"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let order = member.value.objectValue?["order"]?.arrayValue?.compactMap(\.stringValue) ?? table.keys.sorted()
            guard Set(order) == Set(table.keys), order.count == table.count else {
                throw StructureTableError(path: path, reason: "type \(member.key) orders other elements than it has")
            }
            definitions[member.key] = TypeDefinition(elements: table, order: order, requiredChoices: required)
        }
        for resource in self.resources.union(self.wireResources) where definitions[resource] == nil {
            throw StructureTableError(path: path, reason: "resource \(resource) has no table")
        }
        self.types = definitions
    }
}

/// A structure table that cannot be loaded: the hub refuses to start without one.
public struct StructureTableError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "FHIR structure table \(self.path) \(self.reason)" }
}
