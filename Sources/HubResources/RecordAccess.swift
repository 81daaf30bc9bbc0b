public import HubAudit
public import HubFHIR
import HubStorage

/// Which stored records a caller may see, as a condition the store puts into its SQL — so that
/// paging, `_count` and `_summary=count` only ever count what the caller may see.
///
/// The rule (docs/security.md): a resource outside every patient compartment is visible to any
/// clinical caller (except a Subscription: only to its own organization); a resource in a patient's compartment is visible to organization O when
/// - O created it (an organization always sees its own records), or
/// - the patient's Consent permits sharing with O by name, and no denial of O (by name or of
///   everyone) was recorded later — nor by another organization, when O recorded the permit
///   itself, or
/// - O has a care relationship with the patient, and no active Consent denies sharing with O
///   (by name or with everyone) — the Patient resource itself stays visible under a denial, so
///   that the hospital treating the patient can still identify them, or
/// - the caller declared an emergency for this patient (break-glass), or
/// - the record itself is shared with O (a referral addressed to O: its Task and ServiceRequest).
public struct RecordAccess: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// The hub's own jobs and tools (migrations, benchmarks, tests of the store).
        case unrestricted
        /// A caller acting for `organization`; `emergencyPatient` is opened by break-glass.
        case organization(String, emergencyPatient: String? = nil)
    }

    public var rule: Rule
    /// The resource types the caller's scopes let it read; nil for all. Included resources and
    /// a patient's `$everything` are limited to these.
    public var readableTypes: Set<ResourceType>?
    /// The resource types the caller's scopes let it write; nil for all.
    public var writableTypes: Set<ResourceType>?
    /// Resources (`Type/id`) another organization published that this write may change because
    /// a permitted write entails it (booking takes the publisher's Slot). Set by the workflow
    /// rules, never from a request.
    public var entailedWrites: Set<String> = []
    /// Where the store notes the patients the request aimed at, visible or not, for the audit
    /// trail (a refused attempt still names its patient); nil when nobody audits the call.
    public var targets: AuditTargets?

    public init(_ rule: Rule, readableTypes: Set<ResourceType>? = nil, writableTypes: Set<ResourceType>? = nil) {
        self.rule = rule
        self.readableTypes = readableTypes
        self.writableTypes = writableTypes
    }

    /// Whether the caller's scopes allow reading (or writing) resources of `type` at all.
    public func permits(_ type: ResourceType, write: Bool = false) -> Bool {
        (write ? self.writableTypes : self.readableTypes)?.contains(type) ?? true
    }

    /// Refuses (403) an interaction with `type` that the caller's scopes do not grant.
    public func require(_ type: ResourceType, write: Bool = false) throws(ResourceError) {
        guard self.permits(type, write: write) else {
            throw ResourceError(
                .forbidden, .forbidden, "the caller's scopes do not allow \(write ? "writing" : "reading") \(type.rawValue) resources")
        }
    }

    public static let unrestricted = RecordAccess(.unrestricted)

    /// Types outside patient compartments that only their writer's organization sees.
    static let privateTypes = ResourceType.allCases.filter(\.definition.isPrivateToWriter).map(\.rawValue)

    /// The patient a break-glass declaration opened, if any.
    public var emergencyPatient: String? {
        if case .organization(_, let patient) = self.rule { return patient }
        return nil
    }

    /// The organization writes are attributed to.
    public var organization: String? {
        if case .organization(let organization, _) = self.rule { return organization }
        return nil
    }

    /// `resources` as this caller may see it, as a FROM item named `alias`: the one relation
    /// through which the store's reads reach rows — a read, a version, a history, a search and
    /// each hop of its chains, reverse includes, `$everything`, `$lastn`. A query built on it
    /// cannot leave the caller's access out; `StoreSQLTests` fails on any other mention of the
    /// table in those queries. PostgreSQL flattens the subquery: it plans as a plain join.
    func visibleResources(_ alias: String, sql: inout SQLBuilder) -> String {
        let row = alias + "_seen"
        return "(SELECT \(row).* FROM resources \(row) WHERE \(self.isVisible(row, sql: &sql))) \(alias)"
    }

    /// Whether the `resources` row aliased `r` is visible to the caller, as an SQL expression:
    /// for writes, which must know what they may change rather than filter it away.
    func isVisible(_ r: String, sql: inout SQLBuilder) -> String {
        var conditions: [String] = []
        if let types = self.readableTypes {
            conditions.append("\(r).type = ANY(\(sql.bind(types.map(\.rawValue).sorted())))")
        }
        if case .organization(let organization, let emergencyPatient) = self.rule {
            let o = sql.bind(organization)
            let patient = "\(r).patient_id"
            let emergency = emergencyPatient.map { " OR \(patient) = \(sql.bind($0))" } ?? ""
            let rules = "SELECT 1 FROM consent_rules k WHERE k.patient_id = \(patient) AND k.period @> now()"
            // Later than the permit; at the same instant, a denial of another Consent wins (within
            // one Consent, "deny everyone, permit O" keeps its exception).
            let laterDenial = "(d.recorded_at > k.recorded_at OR (d.recorded_at = k.recorded_at AND d.consent_id <> k.consent_id))"
            // A denial that names O, or everyone.
            let denials = """
                SELECT 1 FROM consent_rules d WHERE d.patient_id = \(patient) AND d.period @> now() AND NOT d.permit
                  AND (d.organization_id = \(o) OR d.organization_id IS NULL)
                """
            let outside = "(\(patient) IS NULL AND \(r).type <> ALL(\(sql.bind(Self.privateTypes))))"
            conditions.append(
                """
                (\(outside) OR \(r).organization = \(o)\(emergency)
                  OR EXISTS (SELECT 1 FROM resource_shares s WHERE s.type = \(r).type AND s.id = \(r).id AND s.organization_id = \(o))
                  OR EXISTS (\(rules) AND k.permit AND k.organization_id = \(o)
                      AND NOT EXISTS (\(denials) AND (\(laterDenial) OR (coalesce(k.recorded_by, \(o)) = \(o) AND d.recorded_by IS DISTINCT FROM \(o)))))
                  OR (EXISTS (SELECT 1 FROM care_relationships c WHERE c.patient_id = \(patient) AND c.organization_id = \(o))
                      AND (\(r).type = 'Patient'
                           OR NOT EXISTS (\(rules) AND NOT k.permit AND (k.organization_id = \(o) OR k.organization_id IS NULL)))))
                """
            )
        }
        return conditions.isEmpty ? "true" : conditions.joined(separator: " AND ")
    }
}
