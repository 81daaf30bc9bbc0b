public import HubAuditCore
public import HubFHIR

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
        /// An organization — the city's health data center — exporting under a population grant
        /// of the health commission (`population_export_grants`, docs/security.md): every
        /// hospital's records, but those of patients whose active Consent denies sharing with it
        /// or with everyone, and other organizations' Subscriptions; only while the grant is in
        /// force. Only `$export` reads with it, and the store refuses every write under it.
        case population(String, grant: String)
        /// The hub computing a de-identified open-data release (docs/open-data.md): every
        /// hospital's clinical records — only those `writtenBy` wrote, when set — but those of
        /// patients whose active Consent denies sharing with everyone, and no Subscription. Only
        /// the release computation reads with it, and nothing it reads leaves the hub but counts
        /// and generalized rows; the store refuses every write under it.
        case deidentifiedRelease(writtenBy: String?)
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
    package static let privateTypes = ResourceType.allCases.filter(\.definition.isPrivateToWriter).map(\.rawValue)

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

    /// Whether this access only reads (a population grant, an open-data release) and may write
    /// nothing.
    public var isReadOnly: Bool {
        switch self.rule {
        case .population, .deidentifiedRelease: true
        case .unrestricted, .organization: false
        }
    }

    /// Refuses (403) a write under a population grant or for an open-data release: they read,
    /// never change.
    public func requireWriter() throws(ResourceError) {
        guard !self.isReadOnly else {
            throw ResourceError(.forbidden, .forbidden, "this access reads records for a population export or open data; it writes none")
        }
    }
}
