import Foundation
import HubAudit
public import HubCrypto
public import HubResourcesCore

/// Turns a request's credentials into an ``AccessGrant``: a bearer token, or a registered client
/// certificate (mutual TLS); and exchanges signed client assertions for tokens.
public struct Authenticator: Sendable {
    let directory: IdentityDirectory
    let tokens: AccessTokens
    let registry: AlgorithmRegistry
    /// Failed logins per claimed principal (`access.failed_login_limit` per
    /// `access.failed_login_window_minutes`): beyond it, failures are answered 429.
    let failedLogins: AttemptLimiter

    public init(
        directory: IdentityDirectory, tokens: AccessTokens, registry: AlgorithmRegistry,
        failedLogins: AttemptLimiter = AttemptLimiter(attempts: 10, window: 15 * 60)
    ) {
        self.directory = directory
        self.tokens = tokens
        self.registry = registry
        self.failedLogins = failedLogins
    }

    /// What a request presented.
    public struct Credentials: Sendable, Equatable {
        /// The `Authorization: Bearer` token.
        public var bearer: String?
        /// SHA-256 (lowercase hex) of the client certificate of the TLS handshake.
        public var certificateSHA256: String?
        /// `X-On-Behalf-Of`: the clinician a hospital system acts for.
        public var onBehalfOf: String?

        public init(bearer: String? = nil, certificateSHA256: String? = nil, onBehalfOf: String? = nil) {
            self.bearer = bearer
            self.certificateSHA256 = certificateSHA256
            self.onBehalfOf = onBehalfOf
        }
    }

    /// The grant of `credentials`; nil when there are none. A token wins over a certificate; a
    /// client registered with a certificate must present it with its tokens too (RFC 8705-style
    /// binding), so a stolen token alone is useless.
    ///
    /// A grant resolved before is served from ``GrantCache`` while nothing it was resolved from
    /// has changed; only grants are kept, never refusals.
    public func authenticate(_ credentials: Credentials) async throws -> AccessGrant? {
        guard credentials.bearer != nil || credentials.certificateSHA256 != nil else { return nil }
        let cache = self.tokens.grants
        let key = try GrantCache.Key(credentials)
        if let grant = cache.grant(for: key, now: Date()) { return grant }
        let ticket = cache.ticket()
        let (grant, expiresAt) = try await self.resolve(credentials)
        cache.store(grant, for: key, until: expiresAt, ticket: ticket, now: Date())
        return grant
    }

    /// Looks the credentials up: the grant, and until when a token is valid.
    func resolve(_ credentials: Credentials) async throws -> (AccessGrant, Date?) {
        let principal: Principal
        var scopes: [String]
        var emergency: AccessGrant.Emergency?
        var expiresAt: Date?
        if let bearer = credentials.bearer {
            let resolution = try await self.tokens.grant(for: bearer)
            (principal, scopes, emergency, expiresAt) = (resolution.principal, resolution.scopes, resolution.emergency, resolution.expiresAt)
            if let bound = principal.certificateSHA256, bound != credentials.certificateSHA256 {
                throw AccessError(.unauthenticated, "this client's tokens are bound to its certificate: present it (mutual TLS)")
            }
        } else if let fingerprint = credentials.certificateSHA256 {
            guard let found = try await self.directory.principal(certificateSHA256: fingerprint) else {
                throw AccessError(.unauthenticated, "the client certificate is not registered with the hub, or its client is inactive")
            }
            principal = found
            scopes = found.scopes
        } else {
            throw AccessError(.unauthenticated, "no credentials")
        }
        var grant = AccessGrant(
            principal: principal.id,
            role: principal.role,
            organization: principal.organization,
            user: principal.kind == .user ? principal.id : nil,
            scopes: scopes.compactMap(Scope.init),
            emergency: emergency
        )
        if let user = credentials.onBehalfOf {
            guard principal.role == .system else {
                throw AccessError(.forbidden, "only a hospital system acts on behalf of a clinician")
            }
            let clinician = try? await self.directory.principal(id: user)
            guard let clinician, clinician.active, clinician.role == .clinician, clinician.organization == principal.organization else {
                throw AccessError(.forbidden, "X-On-Behalf-Of must name an active clinician of the client's organization")
            }
            grant.user = clinician.id
            // Both must allow it: the system's scopes, narrowed to the clinician's (user/…).
            let clinicianScopes = clinician.scopes.compactMap(Scope.init)
            grant.scopes = grant.scopes.filter { scope in
                clinicianScopes.contains { ($0.type == nil || $0.type == scope.type) && (!scope.read || $0.read) && (!scope.write || $0.write) }
            }
        }
        return (grant, expiresAt)
    }

    /// The client-credentials grant with a signed JWT assertion (SMART Backend Services): the
    /// assertion's principal, its registered key, the audience, time and replay are checked;
    /// then a token is issued for `scope` (space-separated; nil for all the principal's).
    /// Failed attempts count against the principal the assertion claims (known or not, so the
    /// answer tells neither apart); past the limit a failure is answered 429 instead of 401
    /// until the window has moved on. An assertion that verifies always gets its token: anyone
    /// can send failures naming any principal, and that must not lock the principal out.
    public func exchange(assertion: String, scope: String?, audience: String, address: String?, requestID: String?) async throws
        -> AccessTokens.Issued
    {
        let parsed = try ClientAssertion(compact: assertion)
        do {
            return try await self.verifiedExchange(parsed, scope: scope, audience: audience, address: address, requestID: requestID)
        } catch let error as AccessError where error.code == .unauthenticated {
            do {
                try self.failedLogins.attempt(parsed.issuer, what: "failed logins")
            } catch {
                throw AccessError(.tooManyAttempts, error.description, oauthError: "invalid_request", retryAfterSeconds: error.retryAfterSeconds)
            }
            throw error
        }
    }

    func verifiedExchange(_ parsed: ClientAssertion, scope: String?, audience: String, address: String?, requestID: String?) async throws
        -> AccessTokens.Issued
    {
        let principal: Principal
        do {
            principal = try await self.directory.principal(id: parsed.issuer)
        } catch let error as AccessError where error.code == .notFound {
            throw ClientAssertion.notAuthentic
        }
        guard principal.active, let pem = principal.publicKey, let key = ClientAssertion.verifyingKey(pem: pem, registry: self.registry) else {
            throw ClientAssertion.notAuthentic
        }
        try parsed.verify(key: key, audience: audience)
        guard try await self.tokens.recordAssertion(principal: principal.id, jwtID: parsed.jwtID, expiresAt: parsed.expiresAt) else {
            throw AccessError(.unauthenticated, "client_assertion was used before (jti replayed)", oauthError: "invalid_client")
        }
        let requested = scope.map { $0.split(separator: " ").map(String.init) }
        let caller = AccessGrant(principal: principal.id, role: principal.role, organization: principal.organization, scopes: [])
            .caller(address: address, requestID: requestID)
        return try await self.tokens.issue(to: principal, scopes: requested, audit: AuditContext(caller: caller, interaction: "login"))
    }

    /// Break-glass: a clinician declares an emergency for one patient, with a reason, and gets a
    /// short-lived token that opens that patient's records — flagged in every audit record.
    public func declareEmergency(_ grant: AccessGrant, patient: String, reason: String, address: String?, requestID: String?) async throws
        -> AccessTokens.Issued
    {
        guard grant.role == .clinician else { throw AccessError(.forbidden, "only a clinician declares an emergency (break-glass)") }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 10, reason.count <= 500 else {
            throw AccessError(.invalid, "break-glass needs a reason of 10 to 500 characters")
        }
        guard IdentityDirectory.isValidID(patient) else { throw AccessError(.invalid, "patient must be a Patient id") }
        let principal = try await self.directory.principal(id: grant.principal)
        let emergency = AccessGrant.Emergency(patient: patient, reason: reason)
        var flagged = grant
        flagged.emergency = emergency
        // The emergency widens which patient's records, never what the caller may do with them:
        // the new token carries the presented token's scopes, not all the principal holds.
        return try await self.tokens.issue(
            to: principal,
            scopes: grant.scopes.map(\.description),
            emergency: emergency,
            audit: AuditContext(caller: flagged.caller(address: address, requestID: requestID), interaction: "break-glass")
        )
    }
}
