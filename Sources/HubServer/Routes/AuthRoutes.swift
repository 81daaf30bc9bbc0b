import Foundation
import HTTPTypes
public import HubAccess
import HubAudit
public import Hummingbird

/// `POST /auth/token`: the OAuth 2 client-credentials grant with a signed JWT assertion (SMART
/// Backend Services); `POST /auth/break-glass`: a clinician's emergency access to one patient;
/// `POST /auth/revoke`: the presented token ends (logout). docs/security.md has the details.
public struct AuthRoutes: Sendable {
    let authenticator: Authenticator
    let tokens: AccessTokens
    let endpoint: TokenEndpoint

    public init(authenticator: Authenticator, tokens: AccessTokens, endpoint: TokenEndpoint) {
        self.authenticator = authenticator
        self.tokens = tokens
        self.endpoint = endpoint
    }

    /// The URL an assertion must name as its audience (RFC 7523 §3): what the operator configured
    /// (`server.public_url`), else the listener's own address — never the request's `Host`, which
    /// the caller writes (an assertion made for another server must not buy a token here).
    public struct TokenEndpoint: Sendable, Equatable {
        public var publicURL: String?
        /// The configured listening host (`server.host`).
        public var host: String

        public init(publicURL: String?, host: String) {
            self.publicURL = publicURL
            self.host = host
        }

        /// The audience for a request that reached the listener on `localPort`.
        public func audience(localPort: Int?) -> String {
            if let publicURL = self.publicURL { return publicURL + "/auth/token" }
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return "https://\(host):\(localPort ?? 0)/auth/token"
        }
    }

    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    public func add(to router: Router<HubRequestContext>) {
        let group = router.group("auth")
        group.post("token") { request, context in
            do {
                let contentType = request.headers[.contentType]?.lowercased() ?? ""
                guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
                    throw AccessError(.invalid, "the token request is application/x-www-form-urlencoded", oauthError: "invalid_request")
                }
                var request = request
                let body = try await request.collectBody(upTo: 16_384)
                var form: [String: String] = [:]
                guard let pairs = try? FHIRSearchRoutes.parameters(String(buffer: body)) else {
                    throw AccessError(.invalid, "the token request's form has an invalid percent-encoding", oauthError: "invalid_request")
                }
                for (name, value) in pairs { form[name] = value }
                guard form["grant_type"] == "client_credentials" else {
                    throw AccessError(.invalid, "grant_type must be client_credentials", oauthError: "unsupported_grant_type")
                }
                guard form["client_assertion_type"] == Self.assertionType, let assertion = form["client_assertion"] else {
                    throw AccessError(
                        .invalid, "client_assertion_type must be \(Self.assertionType), with a client_assertion", oauthError: "invalid_request")
                }
                let issued = try await self.authenticator.exchange(
                    assertion: assertion,
                    scope: form["scope"],
                    audience: self.endpoint.audience(localPort: context.localPort),
                    address: context.remoteAddress,
                    requestID: context.id
                )
                context.audit.interaction("login", action: .execute)
                context.audit.recordedByStore()
                return Response.json(issued, headers: [.cacheControl: "no-store"])
            } catch let error as AccessError {
                // RFC 6749 §5.2: errors as {error, error_description}, with its statuses (400
                // for all but a client that failed to authenticate) rather than REST's.
                context.audit.interaction("login", action: .execute)
                context.audit.failed(error.code.issueType)
                var headers: HTTPFields = [.cacheControl: "no-store"]
                let status: HTTPResponse.Status
                switch error.code {
                case .unauthenticated: status = .unauthorized
                case .tooManyAttempts:
                    status = .tooManyRequests
                    headers[.retryAfter] = String(error.retryAfterSeconds ?? 60)
                default: status = .badRequest
                }
                return Response.json(
                    OAuthError(error: error.oauthError ?? "invalid_request", errorDescription: error.message),
                    status: status,
                    headers: headers
                )
            }
        }
        group.group("break-glass").add(middleware: AccessGate.clinicians).post { request, context in
            context.audit.interaction("break-glass", action: .execute, type: "Patient")
            guard let grant = context.grant else { throw AccessError(.unauthenticated, "present a bearer token") }
            let declaration = try await AdminRoutes.decode(
                EmergencyDeclaration.self, request, expected: #"{"patient": "<Patient id>", "reason": "<why>"}"#)
            let issued = try await self.authenticator.declareEmergency(
                grant, patient: declaration.patient, reason: declaration.reason, address: context.remoteAddress, requestID: context.id
            )
            context.audit.recordedByStore()
            return Response.json(issued, headers: [.cacheControl: "no-store"])
        }
        group.group("revoke").add(middleware: AccessGate(Set(Role.allCases), purpose: "revoking a token")).post { request, context in
            context.audit.interaction("logout", action: .execute)
            let authorization = request.headers[.authorization] ?? ""
            guard authorization.lowercased().hasPrefix("bearer ") else {
                throw AccessError(.invalid, "revoke ends the bearer token presented in Authorization")
            }
            try await self.tokens.revoke(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            return Response(status: .noContent)
        }
    }

    struct OAuthError: Encodable {
        var error: String
        var errorDescription: String

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }
    }

    struct EmergencyDeclaration: Decodable {
        var patient: String
        var reason: String
    }
}
