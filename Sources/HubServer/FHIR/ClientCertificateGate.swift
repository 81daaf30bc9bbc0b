import HubFHIR
public import Hummingbird

/// Until identities and authorization exist (issue #5), clinical FHIR routes answer only callers
/// that presented a client certificate signed by `tls.client_ca` — a hospital system. Everyone
/// else gets 401: deny by default.
public struct ClientCertificateGate: RouterMiddleware {
    public typealias Context = HubRequestContext

    public init() {}

    public func handle(
        _ request: Request,
        context: HubRequestContext,
        next: (Request, HubRequestContext) async throws -> Response
    ) async throws -> Response {
        guard await context.clientCertificate() != nil else {
            throw APIError(
                .unauthorized,
                code: .login,
                diagnostics: "present a client certificate issued by the hub's client CA (mutual TLS) to use the clinical API"
            )
        }
        return try await next(request, context)
    }
}
