import HubHL7
import HubXML

/// What the hub reads from a CDA R2 header (HL7 v3 ClinicalDocument, as China's shared EMR
/// documents of WS/T 500 use it): whose document, what kind, by whom, when.
public struct ClinicalDocumentHeader: Sendable, Equatable {
    /// An instance identifier: an OID `root` and an `extension` within it.
    public struct InstanceIdentifier: Sendable, Equatable {
        public var root: String
        public var value: String?

        public init(root: String, value: String?) {
            self.root = root
            self.value = value
        }
    }

    /// A coded value: `code` in the code system with OID `system`.
    public struct Code: Sendable, Equatable {
        public var code: String
        public var system: String?
        public var display: String?

        public init(code: String, system: String?, display: String?) {
            self.code = code
            self.system = system
            self.display = display
        }
    }

    public struct Organization: Sendable, Equatable {
        public var identifier: InstanceIdentifier?
        public var name: String?
    }

    /// WS/T 500's OID for the resident identity card number (居民身份证号).
    public static let residentIDRoot = "2.16.156.10011.1.3"

    public var id: InstanceIdentifier?
    public var title: String?
    public var type: Code
    /// `effectiveTime` as a FHIR dateTime (a time without a zone is China Standard Time).
    public var effectiveTime: String?
    /// The patient's identifiers: `patientRole/id` and `patientRole/patient/id`.
    public var patientIdentifiers: [InstanceIdentifier]
    /// The organization the first author acts for.
    public var authorOrganization: Organization?
    /// The organization keeping the original.
    public var custodian: Organization?

    /// The resident ID number among the patient's identifiers, if any.
    public var residentID: String? {
        self.patientIdentifiers.first { $0.root == Self.residentIDRoot && $0.value != nil }?.value
    }

    /// A clinical document's header, or why the bytes are not one.
    public init(document bytes: [UInt8], defaultOffset: String = "+08:00") throws(DocumentError) {
        try self.init(try Self.tree(parsing: bytes), defaultOffset: defaultOffset)
    }

    /// Parses `bytes` (libxml2, no network, no DTD), with the `cda` prefix bound for XPath.
    static func tree(parsing bytes: [UInt8]) throws(DocumentError) -> XMLTree {
        do {
            return try XMLTree(parsing: bytes, namespaces: ["cda": "urn:hl7-org:v3"])
        } catch {
            switch error.kind {
            case .notWellFormed(let line, let column): throw DocumentError(.notWellFormed(line: line, column: column), error.message)
            case .documentTypeDeclaration: throw DocumentError(.documentTypeDeclaration, error.message)
            case .limit: throw DocumentError(.notWellFormed(line: 0, column: 0), error.message)
            }
        }
    }

    init(_ tree: XMLTree, defaultOffset: String) throws(DocumentError) {
        guard let root = tree.root, root.namespace == "urn:hl7-org:v3", root.name == "ClinicalDocument" else {
            throw DocumentError(.header, "not a CDA document: the root element is not ClinicalDocument in the urn:hl7-org:v3 namespace")
        }
        let document = "/cda:ClinicalDocument"
        func identifier(_ path: String) -> InstanceIdentifier? {
            tree.string("\(path)/@root").map { InstanceIdentifier(root: $0, value: tree.string("\(path)/@extension")) }
        }
        func organization(_ path: String) -> Organization? {
            let found = Organization(identifier: identifier("\(path)/cda:id[1]"), name: tree.string("\(path)/cda:name[1]"))
            return found.identifier == nil && found.name == nil ? nil : found
        }
        self.id = identifier("\(document)/cda:id")
        self.title = tree.string("\(document)/cda:title")
        guard let code = tree.string("\(document)/cda:code/@code") else {
            throw DocumentError(.header, "the CDA header has no document type (ClinicalDocument/code/@code)")
        }
        self.type = Code(
            code: code, system: tree.string("\(document)/cda:code/@codeSystem"), display: tree.string("\(document)/cda:code/@displayName"))
        if let time = tree.string("\(document)/cda:effectiveTime/@value") {
            guard let value = HL7DateTime.fhirDateTime(time, defaultOffset: defaultOffset) else {
                throw DocumentError(.header, "ClinicalDocument/effectiveTime \(time) is not an HL7 date/time")
            }
            self.effectiveTime = value
        }
        let role = "\(document)/cda:recordTarget[1]/cda:patientRole"
        var identifiers: [InstanceIdentifier] = []
        for path in ["\(role)/cda:id", "\(role)/cda:patient/cda:id"] {
            for index in stride(from: 1, through: tree.count(path), by: 1) {
                if let found = identifier("\(path)[\(index)]") { identifiers.append(found) }
            }
        }
        guard !identifiers.isEmpty else {
            throw DocumentError(.header, "the CDA header names no patient (recordTarget/patientRole/id)")
        }
        self.patientIdentifiers = identifiers
        self.authorOrganization = organization("\(document)/cda:author[1]/cda:assignedAuthor/cda:representedOrganization")
        self.custodian = organization("\(document)/cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization")
    }
}
