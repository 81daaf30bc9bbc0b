import Crypto
import HubCrypto
public import HubFHIR

/// The ids an import gives the resources it writes: a function of the importing organization,
/// the type and the id the line carried (the source system's), so that
///
/// - references between the imported resources (`Patient/123` in an Observation) still join,
///   rewritten by the same function;
/// - importing the same line again (a resumed job, an input sent twice) names the same resource,
///   which the import then skips instead of writing it twice;
/// - one organization's ids never meet another's: a hospital cannot aim an import at records it
///   did not import, since a reference it writes names only its own namespace.
///
/// The function is keyed (HMAC-SHA-256 under a key of the organization's that only the hub
/// holds, derived from its blind-index key): source ids are often medical record numbers, and
/// an id anyone could recompute from a guessed number would link the hub's ids — which stay in
/// clear in the tables and the audit trail, even after erasure — back to them.
///
/// A line without an id gets a fresh one (and is not recognised when imported again).
public struct ImportIdentity: Sendable {
    public let organization: String
    let key: SymmetricKey

    public init(organization: String, key: [UInt8]) {
        self.organization = organization
        self.key = SymmetricKey(data: key)
    }

    /// The types an import writes: a patient's records. Appointments, referrals (Task,
    /// ServiceRequest), Consents, Subscriptions and DocumentReferences carry rules of their own
    /// (workflow, access, the CDA header's patient) that judge each one, and are written one at a
    /// time; directory resources (Organization, Practitioner) are the hub's.
    public static let importableTypes: [ResourceType] = [
        .patient, .encounter, .condition, .procedure, .allergyIntolerance, .medicationRequest, .observation, .diagnosticReport, .composition,
    ]

    /// The hub's id for the source system's `type/sourceID`: a name-based UUID (RFC 9562
    /// version 8) of HMAC-SHA-256 over the type and the source id.
    public func id(_ type: ResourceType, _ sourceID: String) -> String {
        var mac = HMAC<SHA256>(key: self.key)
        for part in ["health-hub import v1", type.rawValue, sourceID] {
            mac.update(data: Array(part.utf8) + [0])
        }
        var bytes = Array(mac.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let characters = Array(Hex.string(bytes))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// Whether a resource refers to a patient's record by an absolute URL: an import refers to
    /// its own records relatively (`Type/id`), and an absolute one — on the hub's own base, it
    /// would name a record the import did not write — is refused.
    public static func absoluteRecordReference(in resource: JSONObject) -> String? {
        var found: String?
        _ = JSONValue.object(resource).mappingReferences { reference in
            if found == nil, case .external(_, let type?) = ReferenceTarget(reference), let recordType = ResourceType(rawValue: type),
                Self.importableTypes.contains(recordType)
            {
                found = reference
            }
            return reference
        }
        return found
    }

    /// `resource` with its id and every relative reference to an importable type (`Type/id`, also
    /// with `/_history/n`, which is dropped: the import writes first versions) mapped into the
    /// organization's namespace, in contained resources too. Other references — absolute URLs,
    /// `#contained`, the hub's directory — are left as they are.
    public func rewrite(_ resource: JSONObject, type: ResourceType) -> (resource: JSONObject, id: String?) {
        guard case .object(var rewritten) = JSONValue.object(resource).mappingReferences(self.rewrite(reference:)) else { return (resource, nil) }
        let id = resource["id"]?.stringValue.map { self.id(type, $0) }
        rewritten["id"] = nil
        return (rewritten, id)
    }

    func rewrite(reference: String) -> String {
        guard case .resource(let typeName, let id) = ReferenceTarget(reference), let type = ResourceType(rawValue: typeName),
            Self.importableTypes.contains(type)
        else { return reference }
        return "\(typeName)/\(self.id(type, id))"
    }
}
