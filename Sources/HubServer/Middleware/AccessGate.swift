public import HubAccess
public import Hummingbird

/// Deny by default: a route group answers only the roles it names. No credentials, or refused
/// ones, are 401; a caller of another role is 403.
public struct AccessGate: RouterMiddleware {
    public typealias Context = HubRequestContext
    let roles: Set<Role>
    let purpose: String

    public init(_ roles: Set<Role>, purpose: String) {
        self.roles = roles
        self.purpose = purpose
    }

    /// Hospital systems and clinicians: the clinical FHIR API.
    public static let clinical = AccessGate([.system, .clinician], purpose: "the clinical API is for hospital systems and clinicians")
    /// Regulators: the audit trail and its reports.
    public static let regulators = AccessGate([.regulator], purpose: "the audit trail is for regulators")
    /// Administrators: organizations, clients and users.
    public static let administrators = AccessGate([.administrator], purpose: "identity administration is for administrators")
    /// Regulators: open datasets, from definition to publication.
    public static let openDataStewards = AccessGate([.regulator], purpose: "open datasets are managed by the health commission's regulators")
    /// Any principal the hub knows: restricted open data.
    public static let anyPrincipal = AccessGate(Set(Role.allCases), purpose: "this is for the hub's principals")
    /// Clinicians: break-glass.
    public static let clinicians = AccessGate([.clinician], purpose: "only a clinician declares an emergency")

    public func handle(
        _ request: Request,
        context: HubRequestContext,
        next: (Request, HubRequestContext) async throws -> Response
    ) async throws -> Response {
        if let error = context.authenticationError { throw error }
        guard let grant = context.grant else {
            throw AccessError(
                .unauthenticated, "present credentials: a bearer token from POST /auth/token, or a registered client certificate (mutual TLS)")
        }
        guard self.roles.contains(grant.role) else {
            throw AccessError(.forbidden, "\(self.purpose); this caller is a \(grant.role.rawValue)")
        }
        return try await next(request, context)
    }
}
