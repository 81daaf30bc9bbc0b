/// The grade of a dataset (分级, "classified and graded"): who may obtain its releases. Every
/// grade is de-identified; the grade says how far it may travel.
public enum Classification: String, Sendable, Codable, CaseIterable {
    /// Anyone, without credentials: listed in the open catalog (`/open/catalog`).
    case `public`
    /// Any principal the hub knows (hospital systems, clinicians, the data center), over the
    /// authenticated API.
    case restricted
    /// The health commission's regulators only.
    case `internal`
}
