import Foundation
public import HubAudit
public import HubCrypto
public import HubStorage
public import Logging
import PostgresNIO

/// The registry of organizations and principals, in PostgreSQL. Every change is audited in its
/// own transaction (interaction `admin`), like any write.
public struct IdentityDirectory: Sendable {
    public let database: Database
    let registry: AlgorithmRegistry
    /// Emptied after every change this hub makes, so that its own next request already sees it
    /// (other hubs and `hub admin` are heard through ``AccessChangeFeed``).
    public let grants: GrantCache
    let logger: Logger

    public init(database: Database, registry: AlgorithmRegistry, grants: GrantCache, logger: Logger) {
        self.database = database
        self.registry = registry
        self.grants = grants
        self.logger = logger
    }

    /// A change to a principal; nil members stay as they are.
    public struct PrincipalChange: Sendable, Codable, Equatable {
        public var active: Bool?
        public var scopes: [String]?
        public var certificateSHA256: String?
        public var publicKey: String?

        public init(active: Bool? = nil, scopes: [String]? = nil, certificateSHA256: String? = nil, publicKey: String? = nil) {
            self.active = active
            self.scopes = scopes
            self.certificateSHA256 = certificateSHA256
            self.publicKey = publicKey
        }
    }

    /// Ids: 1–64 letters, digits, '.' or '-' (what FHIR ids and the tables' checks allow).
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    // MARK: Organizations

    public func add(_ organization: Organization, audit: AuditContext) async throws -> Organization {
        guard Self.isValidID(organization.id) else {
            throw AccessError(.invalid, "an organization id is 1–64 letters, digits, '.' or '-'")
        }
        guard !organization.name.isEmpty, organization.name.count <= 200 else {
            throw AccessError(.invalid, "an organization needs a name of at most 200 characters")
        }
        let record = Self.record(.create, type: "Organization", id: organization.id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("add organization") { connection in
            let rows = try await connection.query(
                """
                INSERT INTO organizations (id, name, kind, active) VALUES (\(organization.id), \(organization.name), \(organization.kind.rawValue), \(organization.active))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: logger
            )
            var inserted = false
            for try await _ in rows { inserted = true }
            guard inserted else { throw AccessError(.conflict, "organization \(organization.id) exists") }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return organization
    }

    public func organizations() async throws -> [Organization] {
        let logger = self.logger
        return try await self.database.withConnection("list organizations") { connection in
            let rows = try await connection.query("SELECT id, name, kind, active FROM organizations ORDER BY id", logger: logger)
            var result: [Organization] = []
            for try await (id, name, kind, active) in rows.decode((String, String, String, Bool).self) {
                result.append(Organization(id: id, name: name, kind: Organization.Kind(rawValue: kind) ?? .other, active: active))
            }
            return result
        }
    }

    /// Deactivates (or reactivates) an organization; its principals cannot authenticate while it
    /// is inactive.
    public func setActive(organization id: String, _ active: Bool, audit: AuditContext) async throws {
        // Also when the answer is lost after the commit: forgetting grants is always safe.
        defer { self.grants.invalidate() }
        let record = Self.record(.update, type: "Organization", id: id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("change organization") { connection in
            let rows = try await connection.query("UPDATE organizations SET active = \(active) WHERE id = \(id) RETURNING id", logger: logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { throw AccessError(.notFound, "no organization \(id)") }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
    }

    // MARK: Principals

    public func add(_ principal: Principal, audit: AuditContext) async throws -> Principal {
        try self.validate(principal)
        let record = Self.record(.create, type: "Principal", id: principal.id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("add principal") { connection in
            let organizations = try await connection.query("SELECT active FROM organizations WHERE id = \(principal.organization)", logger: logger)
            var organizationActive: Bool?
            for try await active in organizations.decode(Bool.self) { organizationActive = active }
            guard organizationActive == true else {
                throw AccessError(.invalid, "organization \(principal.organization) does not exist or is inactive")
            }
            let rows = try await connection.query(
                """
                INSERT INTO principals (id, kind, role, organization_id, name, scopes, certificate_sha256, public_key, active)
                VALUES (\(principal.id), \(principal.kind.rawValue), \(principal.role.rawValue), \(principal.organization), \(principal.name),
                        \(principal.scopes), \(principal.certificateSHA256), \(principal.publicKey), \(principal.active))
                ON CONFLICT DO NOTHING RETURNING id
                """,
                logger: logger
            )
            var inserted = false
            for try await _ in rows { inserted = true }
            guard inserted else { throw AccessError(.conflict, "principal \(principal.id) exists, or its certificate is registered to another") }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return principal
    }

    /// Changes a principal. Deactivating it, or changing how it authenticates, revokes its tokens.
    public func update(principal id: String, _ change: PrincipalChange, audit: AuditContext) async throws -> Principal {
        // Also when the answer is lost after the commit: forgetting grants is always safe.
        defer { self.grants.invalidate() }
        var principal = try await self.principal(id: id)
        if let active = change.active { principal.active = active }
        if let scopes = change.scopes { principal.scopes = scopes }
        if let certificate = change.certificateSHA256 { principal.certificateSHA256 = certificate.isEmpty ? nil : certificate }
        if let key = change.publicKey { principal.publicKey = key.isEmpty ? nil : key }
        try self.validate(principal)
        let revokes = change.active == false || change.certificateSHA256 != nil || change.publicKey != nil || change.scopes != nil
        let record = Self.record(.update, type: "Principal", id: id, audit: audit)
        let logger = self.logger
        let updated = principal
        try await self.database.withTransaction("change principal") { connection in
            let rows = try await connection.query(
                """
                UPDATE principals SET active = \(updated.active), scopes = \(updated.scopes),
                    certificate_sha256 = \(updated.certificateSHA256), public_key = \(updated.publicKey)
                WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM principals o WHERE o.certificate_sha256 = \(updated.certificateSHA256) AND o.id <> \(id))
                RETURNING id
                """,
                logger: logger
            )
            var found = false
            for try await _ in rows { found = true }
            guard found else { throw AccessError(.conflict, "that certificate is registered to another principal") }
            if revokes {
                try await connection.run(
                    "UPDATE access_tokens SET revoked_at = now() WHERE principal_id = \(id) AND revoked_at IS NULL",
                    logger: logger
                )
            }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return updated
    }

    public func principal(id: String) async throws -> Principal {
        guard let found = try await self.principals(where: "p.id = $1", id).first else {
            throw AccessError(.notFound, "no principal \(id)")
        }
        return found
    }

    /// The active principal whose client certificate has this fingerprint, of an active
    /// organization.
    public func principal(certificateSHA256 fingerprint: String) async throws -> Principal? {
        try await self.principals(where: "p.certificate_sha256 = $1 AND p.active AND o.active", fingerprint).first
    }

    public func principals(organization: String? = nil) async throws -> [Principal] {
        if let organization { return try await self.principals(where: "p.organization_id = $1", organization) }
        return try await self.principals(where: "$1::text IS NULL", nil)
    }

    private func principals(where condition: String, _ value: String?) async throws -> [Principal] {
        var sql = SQLBuilder()
        _ = sql.bind(value)
        let statement = sql.query(
            """
            SELECT p.id, p.role, p.organization_id, p.name, p.scopes, p.certificate_sha256, p.public_key, p.active AND o.active
            FROM principals p JOIN organizations o ON o.id = p.organization_id
            WHERE \(condition) ORDER BY p.id
            """
        )
        let logger = self.logger
        return try await self.database.withConnection("read principals") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var result: [Principal] = []
            for try await (id, role, organization, name, scopes, certificate, key, active) in rows.decode(
                (String, String, String, String, [String], String?, String?, Bool).self
            ) {
                guard let role = Role(rawValue: role) else { continue }
                result.append(
                    Principal(
                        id: id, role: role, organization: organization, name: name, scopes: scopes,
                        certificateSHA256: certificate, publicKey: key, active: active
                    )
                )
            }
            return result
        }
    }

    // MARK: Rules

    func validate(_ principal: Principal) throws(AccessError) {
        guard Self.isValidID(principal.id) else {
            throw AccessError(.invalid, "a principal id is 1–64 letters, digits, '.' or '-'")
        }
        guard !principal.name.isEmpty, principal.name.count <= 200 else {
            throw AccessError(.invalid, "a principal needs a name of at most 200 characters")
        }
        for text in principal.scopes {
            guard let scope = Scope(text) else {
                throw AccessError(.invalid, "\(text) is not a scope this hub grants (e.g. system/Observation.read, user/*.read)")
            }
            guard scope.context == principal.role.scopeContext else {
                throw AccessError(
                    .invalid,
                    "a \(principal.role.rawValue) cannot hold \(text): \(principal.role.scopeContext.map { "use \($0.rawValue)/… scopes" } ?? "the role takes no scopes")"
                )
            }
        }
        if let fingerprint = principal.certificateSHA256 {
            guard fingerprint.count == 64, fingerprint.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw AccessError(.invalid, "a certificate fingerprint is the lowercase hex SHA-256 of the DER certificate (64 characters)")
            }
        }
        if let key = principal.publicKey {
            guard ClientAssertion.verifyingKey(pem: key, registry: self.registry) != nil else {
                throw AccessError(.invalid, "the public key is not a PEM P-256 or SM2 SubjectPublicKeyInfo")
            }
        }
    }

    static func record(_ action: AuditRecord.Action, type: String, id: String, audit: AuditContext) -> AuditRecord {
        AuditRecord(
            time: Date(), action: action, interaction: audit.interaction, caller: audit.caller,
            resourceType: type, entities: ["\(type)/\(id)"]
        )
    }
}
