public import HubFHIR

/// The directory as FHIR resources: what the references the hub writes itself resolve to
/// (`Organization/<id>` as an HL7 v2 result's performer, a referral's requester and owner, a
/// Consent's actor; `Practitioner/<id>` for a clinician).
///
/// Each organization is an Organization with the directory's id; each clinician a Practitioner
/// and a PractitionerRole (same id) at their organization. Regulators, administrators and
/// hospital systems are no practitioners. Pure: ``DirectoryMirror`` keeps the stored resources
/// equal to these.
public enum DirectoryResources {
    /// The identifier system of the hub's organization ids.
    public static let organizationSystem = "urn:health-hub:organization"
    /// The identifier system of the hub's principal ids.
    public static let principalSystem = "urn:health-hub:principal"

    /// One resource the directory implies.
    public struct Entry: Sendable, Equatable {
        public var type: ResourceType
        public var id: String
        /// The resource without `meta` (which the store stamps).
        public var resource: JSONObject
    }

    /// Every resource `organizations` and `principals` imply, in a fixed order.
    public static func entries(organizations: [Organization], principals: [Principal]) -> [Entry] {
        organizations.sorted { $0.id < $1.id }.map(Self.organization)
            + principals.filter { $0.role == .clinician }.sorted { $0.id < $1.id }.flatMap { [Self.practitioner($0), Self.practitionerRole($0)] }
    }

    static func organization(_ organization: Organization) -> Entry {
        // R4's organization-type has no laboratory: a laboratory is a healthcare provider too.
        let (code, display) =
            switch organization.kind {
            case .hospital, .laboratory: ("prov", "Healthcare Provider")
            case .commission: ("govt", "Government")
            case .other: ("other", "Other")
            }
        let type = JSONValue.object(
            JSONObject([
                (
                    "coding",
                    .array([
                        Self.coding("http://terminology.hl7.org/CodeSystem/organization-type", code, display),
                        Self.coding("urn:health-hub:organization-kind", organization.kind.rawValue, nil),
                    ])
                )
            ]))
        return Entry(
            type: .organization, id: organization.id,
            resource: JSONObject([
                ("resourceType", .string("Organization")),
                ("id", .string(organization.id)),
                ("identifier", .array([Self.identifier(Self.organizationSystem, organization.id)])),
                ("active", .bool(organization.active)),
                ("type", .array([type])),
                ("name", .string(organization.name)),
            ]))
    }

    static func practitioner(_ principal: Principal) -> Entry {
        Entry(
            type: .practitioner, id: principal.id,
            resource: JSONObject([
                ("resourceType", .string("Practitioner")),
                ("id", .string(principal.id)),
                ("identifier", .array([Self.identifier(Self.principalSystem, principal.id)])),
                ("active", .bool(principal.active)),
                ("name", .array([.object(JSONObject([("text", .string(principal.name))]))])),
            ]))
    }

    static func practitionerRole(_ principal: Principal) -> Entry {
        Entry(
            type: .practitionerRole, id: principal.id,
            resource: JSONObject([
                ("resourceType", .string("PractitionerRole")),
                ("id", .string(principal.id)),
                ("identifier", .array([Self.identifier(Self.principalSystem, principal.id)])),
                ("active", .bool(principal.active)),
                ("practitioner", .object(JSONObject([("reference", .string("Practitioner/\(principal.id)"))]))),
                ("organization", .object(JSONObject([("reference", .string("Organization/\(principal.organization)"))]))),
            ]))
    }

    static func identifier(_ system: String, _ value: String) -> JSONValue {
        .object(JSONObject([("system", .string(system)), ("value", .string(value))]))
    }

    static func coding(_ system: String, _ code: String, _ display: String?) -> JSONValue {
        var coding = JSONObject([("system", .string(system)), ("code", .string(code))])
        if let display { coding["display"] = .string(display) }
        return .object(coding)
    }
}
