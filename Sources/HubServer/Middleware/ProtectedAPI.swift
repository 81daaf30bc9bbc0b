/// The one list of the APIs that need a caller's identity and leave an audit record, read by
/// ``AuthenticationMiddleware`` and ``AuditMiddleware`` alike — so that what is authenticated is
/// what is audited — and the one spelling of paths they are decided on (``CanonicalPathMiddleware``
/// refuses every other before either runs).
enum ProtectedAPI {
    static let prefixes = ["/fhir", "/audit", "/admin", "/auth", "/hl7v2", "/notifications", "/whoami", "/open/datasets", "/open/published"]

    /// Whether `path` (canonical) belongs to a protected API.
    static func contains(_ path: String) -> Bool {
        Self.prefixes.contains { path == $0 || path.hasPrefix($0 + "/") }
    }
}
