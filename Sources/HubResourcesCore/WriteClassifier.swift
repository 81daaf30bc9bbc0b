public import Foundation
public import HubFHIR

/// A write with its id assigned, its references canonical and its patient known.
public struct ClassifiedWrite: Sendable {
    public var operation: WriteOperation
    public var patient: String?
    /// Whose data key seals it (nil for a delete, which seals nothing).
    public var subject: String?
}

/// The one classification every write goes through, whatever the store: ids assigned,
/// references on the hub's own bases made relative, and the patient decided by
/// ``PatientCompartment`` — a reference in a compartment element that cannot be resolved to one
/// patient is refused (422). Whose record a write is decides who may make it and whose key seals
/// it, so it is decided once, here, before any store looks at access or keys.
public struct WriteClassifier: Sendable {
    /// The hub's own FHIR bases: absolute references on them are stored relative.
    public let references: ReferenceCanonicalizer

    public init(references: ReferenceCanonicalizer = ReferenceCanonicalizer(bases: [])) {
        self.references = references
    }

    /// `operation` with its references canonical (before the workflow rules read it).
    public func canonical(_ operation: WriteOperation) -> WriteOperation {
        switch operation {
        case .create(let type, let id, let resource): .create(type, id: id, self.references.canonicalize(resource))
        case .update(let type, let id, let resource, let ifMatch): .update(type, id: id, self.references.canonicalize(resource), ifMatch: ifMatch)
        case .delete: operation
        }
    }

    public func classify(_ operation: WriteOperation) throws(ResourceError) -> ClassifiedWrite {
        switch operation {
        case .create(.consent, _, let resource), .update(.consent, _, let resource, _):
            if let (element, problem) = AccessFacts.consentProblem(self.references.canonicalize(resource)) {
                throw ResourceError(.unprocessable, .businessRule, problem, expression: [element])
            }
        default: break
        }
        switch operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(
                operation: .create(type, id: id, canonical), patient: patient, subject: Self.subject(type: type, id: id, patient: patient))
        case .update(let type, let id, let resource, let ifMatch):
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(
                operation: .update(type, id: id, canonical, ifMatch: ifMatch), patient: patient,
                subject: Self.subject(type: type, id: id, patient: patient)
            )
        case .delete:
            return ClassifiedWrite(operation: operation, patient: nil, subject: nil)
        }
    }

    /// Whose data key seals a resource: its patient's, or its own outside any patient compartment.
    public static func subject(type: ResourceType, id: String, patient: String?) -> String {
        if let patient { return "Patient/\(patient)" }
        return "\(type.rawValue)/\(id)"
    }

    /// The patient a resource belongs to (``PatientCompartment``), or a 422 naming the element
    /// whose reference cannot be filed under one patient.
    public static func patientID(of resource: JSONObject, type: ResourceType, id: String) throws(ResourceError) -> String? {
        do {
            return try PatientCompartment.patient(of: resource, type: type, id: id)
        } catch {
            throw ResourceError(.unprocessable, .invalid, error.description, expression: [error.element])
        }
    }

    /// The resource as stored: server id, `meta.versionId` and `meta.lastUpdated` set, other
    /// `meta` elements (profile, tag, security) kept.
    public static func stamp(_ resource: JSONObject, type: ResourceType, id: String, version: Int, at time: Date, patient: String?) -> (
        StoredResource, JSONObject
    ) {
        var body = JSONObject([("resourceType", .string(type.rawValue)), ("id", .string(id))])
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(time.fhirInstant)
        body["meta"] = .object(meta)
        for member in resource.members where !["resourceType", "id", "meta"].contains(member.key) {
            body[member.key] = member.value
        }
        let stored = StoredResource(
            type: type, id: id, versionID: version, lastUpdated: time, isDeleted: false, resource: body,
            patientID: patient
        )
        return (stored, body)
    }
}
