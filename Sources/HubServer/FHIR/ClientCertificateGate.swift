import HubAudit
import HubFHIR
public import Hummingbird

/// Until identities and authorization exist (issue #5), clinical FHIR routes answer only callers
/// that presented a client certificate signed by `tls.client_ca` — a hospital system. Everyone
/// else gets 401: deny by default.
///
/// It reads the ``Caller`` that ``AuditMiddleware`` established from the certificate (one look-up
/// per request); where no middleware did, there is no client and the answer is 401.
public struct ClientCertificateGate: RouterMiddleware {
    public typealias Context = HubRequestContext

    public init() {}

    public func handle(
        _ request: Request,
        context: HubRequestContext,
        next: (Request, HubRequestContext) async throws -> Response
    ) async throws -> Response {
        guard context.caller.client != nil else {
            throw APIError(
                .unauthorized,
                code: .login,
                diagnostics: "present a client certificate issued by the hub's client CA (mutual TLS) to use the clinical API"
            )
        }
        return try await next(request, context)
    }
}
