import Foundation
import HTTPTypes
public import HubAccess
import HubAudit
public import Hummingbird

/// Establishes who is calling — the ``AccessGrant`` of a bearer token or a registered client
/// certificate, and the ``Caller`` the audit trail records — for the APIs that need it.
///
/// It refuses nothing itself: a failure is kept in the context for ``AccessGate`` to answer
/// inside ``AuditMiddleware``, so that every refusal is audited like any access.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(
        _ request: Request,
        context: HubRequestContext,
        next: (Request, HubRequestContext) async throws -> Response
    ) async throws -> Response {
        guard ProtectedAPI.contains(request.uri.path) else { return try await next(request, context) }
        var context = context
        let certificate = await context.clientCertificate()
        var bearer: String?
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                bearer = String(parts[1]).trimmingCharacters(in: .whitespaces)
            } else {
                context.authenticationError = AccessError(.unauthenticated, "Authorization must be a Bearer token")
            }
        }
        let credentials = Authenticator.Credentials(
            bearer: bearer,
            certificateSHA256: certificate?.fingerprintSHA256,
            onBehalfOf: request.headers[.onBehalfOf]
        )
        // Until it is known, the caller is its certificate (recorded for refusals, too).
        context.caller = Caller(
            client: certificate.map { "cert:" + $0.fingerprintSHA256.prefix(16) },
            organization: nil,
            address: context.remoteAddress,
            requestID: context.id
        )
        if context.authenticationError == nil {
            do {
                if let grant = try await self.authenticator.authenticate(credentials) {
                    context.grant = grant
                    context.caller = grant.caller(address: context.remoteAddress, requestID: context.id)
                }
            } catch {
                // Refused credentials (401/403) and failures to check them (the database is
                // down: 503 with Retry-After) alike are answered by ``AccessGate``, inside the
                // error and audit middleware — never as a bare 500, never as a refusal.
                context.authenticationError = error
            }
        }
        return try await next(request, context)
    }

}

extension HTTPField.Name {
    /// The clinician a hospital system acts for.
    static let onBehalfOf = HTTPField.Name("X-On-Behalf-Of")!
}
