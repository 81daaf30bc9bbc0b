public import Foundation
public import HubAudit
import HubCrypto
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// Bearer tokens: opaque, random (256 bits), stored only as their SHA-256, expiring, revocable,
/// scoped. Issuing one is audited (interaction `login`, or `break-glass` with the reason).
public struct AccessTokens: Sendable {
    let database: Database
    let lifetime: Duration
    let emergencyLifetime: Duration
    /// Emptied after a revocation, so that this hub's next request already refuses the token
    /// (other hubs hear of it through ``AccessChangeFeed``).
    public let grants: GrantCache
    let logger: Logger

    public init(database: Database, lifetime: Duration, emergencyLifetime: Duration, grants: GrantCache, logger: Logger) {
        self.database = database
        self.lifetime = lifetime
        self.emergencyLifetime = emergencyLifetime
        self.grants = grants
        self.logger = logger
    }

    /// The token endpoint's answer (RFC 6749 §5.1).
    public struct Issued: Sendable, Codable, Equatable {
        public var accessToken: String
        public var tokenType = "Bearer"
        public var expiresIn: Int
        public var scope: String

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case scope
        }
    }

    /// Issues a token to `principal` with the `requested` scopes (all of its scopes for nil);
    /// asking for a scope it does not hold is `invalid_scope`.
    public func issue(
        to principal: Principal,
        scopes requested: [String]?,
        emergency: AccessGrant.Emergency? = nil,
        audit: AuditContext
    ) async throws -> Issued {
        guard principal.active else { throw AccessError(.unauthenticated, "the principal is inactive", oauthError: "invalid_client") }
        let scopes = requested ?? principal.scopes
        let held = principal.scopes.compactMap(Scope.init)
        for text in scopes {
            guard let scope = Scope(text), held.contains(where: { $0.covers(scope) }) else {
                throw AccessError(.invalid, "\(text) is not granted to \(principal.id)", oauthError: "invalid_scope")
            }
        }
        let token = "hub." + Base64URL.encode(SecretKey.random(byteCount: 32).bytes)
        let hash = try Self.hash(token)
        let lifetime = emergency == nil ? self.lifetime : self.emergencyLifetime
        let seconds = Int(lifetime.components.seconds)
        let now = Date()
        let expires = now.addingTimeInterval(TimeInterval(seconds))
        let record = AuditRecord(
            time: now, action: .execute, interaction: emergency == nil ? "login" : "break-glass",
            caller: audit.caller, patient: emergency?.patient, resourceType: "Principal", entities: ["Principal/\(principal.id)"]
        )
        let logger = self.logger
        try await self.database.withTransaction("issue token") { connection in
            try await connection.run(
                """
                INSERT INTO access_tokens (token_hash, principal_id, scopes, issued_at, expires_at, emergency_patient, emergency_reason)
                VALUES (\(hash), \(principal.id), \(scopes), \(now), \(expires), \(emergency?.patient), \(emergency?.reason))
                """,
                logger: logger
            )
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return Issued(accessToken: token, expiresIn: seconds, scope: scopes.joined(separator: " "))
    }

    /// What a valid token stands for.
    public struct Resolution: Sendable, Equatable {
        /// Active, of an active organization.
        public var principal: Principal
        public var scopes: [String]
        public var emergency: AccessGrant.Emergency?
        /// On this hub's clock.
        public var expiresAt: Date
    }

    /// What a token grants: its principal, scopes, emergency and expiry. Unknown, expired and
    /// revoked tokens are all simply not valid (401).
    public func grant(for token: String) async throws -> Resolution {
        guard token.utf8.count <= 200 else { throw AccessError(.unauthenticated, "the bearer token is not valid") }
        let hash = try Self.hash(token)
        let logger = self.logger
        let row = try await self.database.withConnection("resolve token") { connection in
            let rows = try await connection.query(
                """
                SELECT p.id, p.role, p.organization_id, p.name, p.certificate_sha256, t.scopes, t.emergency_patient, t.emergency_reason,
                    extract(epoch FROM t.expires_at - now())::float8
                FROM access_tokens t JOIN principals p ON p.id = t.principal_id JOIN organizations o ON o.id = p.organization_id
                WHERE t.token_hash = \(hash) AND t.revoked_at IS NULL AND t.expires_at > now() AND p.active AND o.active
                """,
                logger: logger
            )
            for try await row in rows.decode((String, String, String, String, String?, [String], String?, String?, Double).self) {
                return row as (String, String, String, String, String?, [String], String?, String?, Double)?
            }
            return nil
        }
        guard let (id, roleName, organization, name, certificate, scopes, patient, reason, remaining) = row, let role = Role(rawValue: roleName)
        else {
            throw AccessError(.unauthenticated, "the bearer token is not valid (unknown, expired or revoked)")
        }
        let principal = Principal(id: id, role: role, organization: organization, name: name, scopes: scopes, certificateSHA256: certificate)
        var emergency: AccessGrant.Emergency?
        if let patient, let reason { emergency = AccessGrant.Emergency(patient: patient, reason: reason) }
        // The lifetime left as the database counts it, on this hub's clock: a hub whose clock lags
        // the database's must not keep an expired (break-glass) token alive by the difference.
        return Resolution(principal: principal, scopes: scopes, emergency: emergency, expiresAt: Date().addingTimeInterval(remaining))
    }

    /// Revokes one token (RFC 7009: revoking an unknown token is not an error).
    public func revoke(_ token: String) async throws {
        // Also when the answer is lost after the commit: forgetting a grant is always safe.
        defer { self.grants.invalidate() }
        let hash = try Self.hash(token)
        let logger = self.logger
        try await self.database.withConnection("revoke token") { connection in
            try await connection.run("UPDATE access_tokens SET revoked_at = now() WHERE token_hash = \(hash) AND revoked_at IS NULL", logger: logger)
        }
    }

    /// What is stored of a token: its SHA-256 (a token has 256 random bits; a slow hash would
    /// add nothing).
    static func hash(_ token: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try SHA256Hash().digest(Array(token.utf8)))
    }

    /// Records an assertion's `jti`; false if it was seen before (a replay).
    public func recordAssertion(principal: String, jwtID: String, expiresAt: Date) async throws -> Bool {
        let logger = self.logger
        return try await self.database.withConnection("record assertion") { connection in
            try await connection.run(
                "DELETE FROM client_assertions WHERE principal_id = \(principal) AND expires_at < now() - interval '1 minute'", logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO client_assertions (principal_id, jti, expires_at) VALUES (\(principal), \(jwtID), \(expiresAt))
                ON CONFLICT DO NOTHING RETURNING jti
                """,
                logger: logger
            )
            for try await _ in rows { return true }
            return false
        }
    }
}
