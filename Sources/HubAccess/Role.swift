/// What a principal is, which decides which parts of the hub it may use at all (deny by
/// default): hospital systems and clinicians use the clinical API within their scopes;
/// regulators read the audit trail and reports, never clinical content; administrators manage
/// identities, never records.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// A hospital system (a client), acting for its organization or for one of its clinicians.
    case system
    case clinician
    case regulator
    case administrator

    /// Whether the role uses the clinical FHIR API.
    public var isClinical: Bool { self == .system || self == .clinician }

    /// The SMART scope context its scopes must use (`system/…`, `user/…`); nil where the role
    /// takes no scopes.
    public var scopeContext: Scope.Context? {
        switch self {
        case .system: .system
        case .clinician: .user
        case .regulator, .administrator: nil
        }
    }
}
