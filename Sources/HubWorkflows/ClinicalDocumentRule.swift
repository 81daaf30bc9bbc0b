import Foundation
import HubDocuments
public import HubFHIR
public import HubResourcesCore

/// DocumentReferences carrying XML: every inline XML attachment must be well-formed (libxml2),
/// and a CDA document's header decides what the DocumentReference says of it — the patient
/// (by the resident ID number in `recordTarget`, among the patients the writer may see), the
/// document type, the date, the author and custodian organizations. What the DocumentReference
/// leaves out is filled from the header; what contradicts the header is refused (422), so that
/// a document is never filed under another patient than the one it names.
public struct ClinicalDocumentRule: WriteRule {
    let residentIDSystem: String

    public init(residentIDSystem: String) {
        self.residentIDSystem = residentIDSystem
    }

    public var type: ResourceType { .documentReference }

    /// Media types taken for XML, besides any `…+xml`.
    static let xmlTypes: Set<String> = ["text/xml", "application/xml"]

    public func admit(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> WriteOperation {
        let resource: JSONObject
        switch operation {
        case .create(_, _, let body), .update(_, _, let body, _): resource = body
        case .delete: return operation
        }
        guard let (header, index) = try Self.clinicalDocument(in: resource) else { return operation }
        let filled = try await self.fill(resource, from: header, at: "DocumentReference.content[\(index)].attachment", store: store, access: access)
        switch operation {
        case .create(let type, let id, _): return .create(type, id: id, filled)
        case .update(let type, let id, _, let ifMatch): return .update(type, id: id, filled, ifMatch: ifMatch)
        case .delete: return operation
        }
    }

    /// Checks every inline XML attachment; returns the first CDA document's header and its
    /// position.
    static func clinicalDocument(in resource: JSONObject) throws(ResourceError) -> (ClinicalDocumentHeader, Int)? {
        var found: (ClinicalDocumentHeader, Int)?
        for (index, content) in (resource["content"]?.arrayValue ?? []).enumerated() {
            let path = "DocumentReference.content[\(index)].attachment"
            guard let attachment = content.objectValue?["attachment"]?.objectValue,
                let mediaType = attachment["contentType"]?.stringValue?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
                    .lowercased(),
                Self.xmlTypes.contains(mediaType) || mediaType.hasSuffix("+xml"),
                let data = attachment["data"]?.stringValue
            else { continue }
            guard let bytes = Data(base64Encoded: data) else {
                throw ResourceError(.invalid, .value, "the attachment's data is not base64", expression: ["\(path).data"])
            }
            do {
                if case .clinicalDocument(let header) = try XMLDocumentCheck.check(Array(bytes)), found == nil {
                    found = (header, index)
                }
            } catch {
                throw ResourceError(.unprocessable, .invalid, "the \(mediaType) document is refused: \(error)", expression: ["\(path).data"])
            }
        }
        return found
    }

    func fill(_ resource: JSONObject, from header: ClinicalDocumentHeader, at path: String, store: any ResourceStore, access: RecordAccess)
        async throws -> JSONObject
    {
        var resource = resource
        guard let residentID = header.residentID else {
            throw ResourceError(
                .unprocessable, .required,
                "the CDA header names its patient by no resident ID number (recordTarget/patientRole, id root \(ClinicalDocumentHeader.residentIDRoot))",
                expression: ["\(path).data"]
            )
        }
        let patients = PatientDirectory(store: store, residentIDSystem: self.residentIDSystem)
        guard let patient = try await patients.patient(residentID: residentID, access: access) else {
            throw ResourceError(
                .unprocessable, .notFound,
                "the patient the CDA header names is not one this organization may see: register the patient first",
                expression: ["DocumentReference.subject"]
            )
        }
        if let subject = resource["subject"] {
            guard subject.referencedID("Patient") == patient else {
                throw ResourceError(
                    .unprocessable, .value, "DocumentReference.subject is not the patient the CDA header names",
                    expression: ["DocumentReference.subject"])
            }
        } else {
            resource["subject"] = .object(JSONObject([("reference", .string("Patient/\(patient)"))]))
        }
        let system = header.type.system.map { "urn:oid:\($0)" }
        if let type = resource["type"]?.objectValue {
            let codings = (type["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
            guard codings.contains(where: { $0["code"]?.stringValue == header.type.code && (system == nil || $0["system"]?.stringValue == system) })
            else {
                throw ResourceError(
                    .unprocessable, .value,
                    "DocumentReference.type has no coding of the CDA header's document type \(header.type.code)",
                    expression: ["DocumentReference.type"]
                )
            }
        } else {
            var coding: [(String, JSONValue)] = []
            if let system { coding.append(("system", .string(system))) }
            coding.append(("code", .string(header.type.code)))
            if let display = header.type.display ?? header.title { coding.append(("display", .string(display))) }
            var type: [(String, JSONValue)] = [("coding", .array([.object(JSONObject(coding))]))]
            if let title = header.title { type.append(("text", .string(title))) }
            resource["type"] = .object(JSONObject(type))
        }
        // An instant needs the time to the second; a header dated to the day leaves `date` unset.
        if resource["date"] == nil, let time = header.effectiveTime, time.count >= 20 {
            resource["date"] = .string(time)
        }
        if resource["description"] == nil, let title = header.title { resource["description"] = .string(title) }
        if resource["author"] == nil, let author = header.authorOrganization.flatMap(Self.reference) {
            resource["author"] = .array([author])
        }
        if resource["custodian"] == nil, let custodian = header.custodian.flatMap(Self.reference) {
            resource["custodian"] = custodian
        }
        return resource
    }

    /// An organization of the header as a logical reference: its identifier and name.
    static func reference(_ organization: ClinicalDocumentHeader.Organization) -> JSONValue? {
        var members: [(String, JSONValue)] = [("type", .string("Organization"))]
        if let identifier = organization.identifier, let value = identifier.value {
            members.append(("identifier", .object(JSONObject([("system", .string("urn:oid:\(identifier.root)")), ("value", .string(value))]))))
        }
        if let name = organization.name { members.append(("display", .string(name))) }
        return members.count > 1 ? .object(JSONObject(members)) : nil
    }
}
