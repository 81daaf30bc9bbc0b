import Foundation
public import HubAudit
import HubFHIR
import HubStorage
import Logging
import PostgresNIO

/// A grant by the health commission: the systems `clients` of `organization` — the city's health
/// data center — may export every hospital's records (`$export`) for `purpose`, within a period,
/// on a recorded basis (docs/security.md, "Bulk export"). One administrator of the commission
/// records it and another approves it before it is in force. Patients whose Consent denies
/// sharing with it or with everyone stay out. Only the export reads through a grant.
public struct PopulationExportGrant: Sendable, Codable, Equatable {
    /// HL7 PurposeOfUse codes a grant may name: public health, research, operations, quality
    /// improvement — never marketing or payment.
    public static let purposes: Set = ["PUBHLTH", "HRESCH", "HOPERAT", "HQUALIMP"]

    public var id: String
    public var organization: String
    /// The data center's systems that may export under it (read-only scopes when they do).
    public var clients: [String]
    public var purpose: String
    /// The commission's basis for it: a decision's document number, a regulation's article.
    public var basis: String
    /// The administrator who recorded it, and the other who approved it (nil: not in force).
    public var grantedBy: String
    public var approvedBy: String?
    /// FHIR instants.
    public var validFrom: String
    public var validUntil: String
    public var revokedAt: String?
}

extension IdentityDirectory {
    /// What an administrator asks for: the period defaults to from now.
    public struct PopulationExportRequest: Sendable, Decodable {
        public var organization: String
        public var clients: [String]
        public var purpose: String
        public var basis: String
        public var validFrom: String?
        public var validUntil: String

        public init(organization: String, clients: [String], purpose: String, basis: String, validFrom: String? = nil, validUntil: String) {
            self.organization = organization
            self.clients = clients
            self.purpose = purpose
            self.basis = basis
            self.validFrom = validFrom
            self.validUntil = validUntil
        }
    }

    /// Records a grant, not yet in force; only an administrator of a commission may (403
    /// otherwise), for an active organization of kind `other` (a data center: not a hospital,
    /// which exports what it treats, nor the commission itself) and 1–10 of its active systems.
    public func grantPopulationExport(_ request: PopulationExportRequest, audit: AuditContext) async throws -> PopulationExportGrant {
        guard PopulationExportGrant.purposes.contains(request.purpose) else {
            throw AccessError(.invalid, "purpose is one of \(PopulationExportGrant.purposes.sorted().joined(separator: ", "))")
        }
        guard (1...500).contains(request.basis.count) else { throw AccessError(.invalid, "basis is 1–500 characters: the decision it rests on") }
        let clients = Array(Set(request.clients)).sorted()
        guard (1...10).contains(clients.count) else { throw AccessError(.invalid, "clients names 1–10 of the data center's systems") }
        let from = try request.validFrom.map(Self.instant) ?? Date()
        let until = try Self.instant(request.validUntil)
        guard until > from, until.timeIntervalSince(from) <= 366 * 86_400 else {
            throw AccessError(.invalid, "a grant ends after it starts, within a year (renew it to go on)")
        }
        guard let grantor = audit.caller.user, let grantorOrganization = audit.caller.organization else {
            throw AccessError(.forbidden, "a population export is granted by an administrator of the health commission")
        }
        let id = UUID().uuidString.lowercased()
        let grant = PopulationExportGrant(
            id: id, organization: request.organization, clients: clients, purpose: request.purpose, basis: request.basis, grantedBy: grantor,
            approvedBy: nil, validFrom: UTCTime(from).instant, validUntil: UTCTime(until).instant, revokedAt: nil)
        let record = Self.record(.create, type: "PopulationExportGrant", id: id, audit: audit)
        let logger = self.logger
        let (fromText, untilText) = (UTCTime(from).timestampLiteral, UTCTime(until).timestampLiteral)
        try await self.database.withTransaction("grant population export") { connection in
            try await Self.requireCommission(grantorOrganization, toHave: "granted", on: connection, logger: logger)
            var eligible = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM organizations WHERE id = \(request.organization) AND active AND kind = 'other'", logger: logger)
            {
                eligible = true
            }
            guard eligible else { throw AccessError(.invalid, "organization \(request.organization) is not an active data center (kind other)") }
            var systems = 0
            for try await _ in try await connection.query(
                """
                SELECT 1 FROM principals WHERE id = ANY(\(clients)) AND organization_id = \(request.organization) AND role = 'system' AND active
                """,
                logger: logger)
            {
                systems += 1
            }
            guard systems == clients.count else {
                throw AccessError(.invalid, "clients must be active systems of \(request.organization)")
            }
            try await connection.run(
                """
                INSERT INTO population_export_grants (id, organization_id, clients, purpose, basis, granted_by, period)
                VALUES (\(id)::uuid, \(request.organization), \(clients), \(request.purpose), \(request.basis), \(grantor),
                        tstzrange(\(fromText)::timestamptz, \(untilText)::timestamptz))
                """,
                logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return grant
    }

    /// Every grant, newest first (revoked and expired ones too: the record of who was allowed what).
    public func populationExportGrants() async throws -> [PopulationExportGrant] {
        try await self.readGrants(activeFor: nil)
    }

    /// The grant in force now for `client` of `organization`, if any (the latest to end).
    public func activePopulationExportGrant(organization: String, client: String) async throws -> PopulationExportGrant? {
        try await self.readGrants(activeFor: organization).first { $0.clients.contains(client) }
    }

    /// Puts a grant in force: an administrator of the commission other than the one who recorded
    /// it approves it (the two-person rule: no one person opens every hospital's records).
    public func approvePopulationExportGrant(id: String, audit: AuditContext) async throws -> PopulationExportGrant {
        guard UUID(uuidString: id) != nil else { throw AccessError(.notFound, "no population export grant \(id)") }
        guard let approver = audit.caller.user, let approverOrganization = audit.caller.organization else {
            throw AccessError(.forbidden, "a population export is approved by an administrator of the health commission")
        }
        let record = Self.record(.update, type: "PopulationExportGrant", id: id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("approve population export") { connection in
            try await Self.requireCommission(approverOrganization, toHave: "approved", on: connection, logger: logger)
            var found: (String?, Bool)?
            for try await (grantor, approved) in try await connection.query(
                "SELECT granted_by, approved_by IS NOT NULL FROM population_export_grants WHERE id = \(id)::uuid AND revoked_at IS NULL FOR UPDATE",
                logger: logger
            ).decode((String, Bool).self) {
                found = (grantor, approved)
            }
            guard let (grantor, approved) = found else { throw AccessError(.notFound, "no population export grant \(id) in force") }
            guard !approved else { throw AccessError(.conflict, "population export grant \(id) is approved already") }
            guard grantor != approver else {
                throw AccessError(.forbidden, "a grant is approved by another administrator than the one who recorded it")
            }
            try await connection.run(
                "UPDATE population_export_grants SET approved_by = \(approver), approved_at = now() WHERE id = \(id)::uuid", logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        guard let grant = try await self.readGrants(activeFor: nil).first(where: { $0.id == id }) else {
            throw AccessError(.notFound, "no population export grant \(id)")
        }
        return grant
    }

    /// Revokes a grant: exports under it stop at their next page.
    public func revokePopulationExportGrant(id: String, audit: AuditContext) async throws {
        guard UUID(uuidString: id) != nil else { throw AccessError(.notFound, "no population export grant \(id)") }
        let record = Self.record(.update, type: "PopulationExportGrant", id: id, audit: audit)
        let (logger, revoker) = (self.logger, audit.caller.user ?? "")
        guard let revokerOrganization = audit.caller.organization else {
            throw AccessError(.forbidden, "a population export is revoked by an administrator of the health commission")
        }
        try await self.database.withTransaction("revoke population export") { connection in
            try await Self.requireCommission(revokerOrganization, toHave: "revoked", on: connection, logger: logger)
            var found = false
            for try await _ in try await connection.query(
                "UPDATE population_export_grants SET revoked_at = now(), revoked_by = \(revoker) WHERE id = \(id)::uuid AND revoked_at IS NULL RETURNING 1",
                logger: logger)
            {
                found = true
            }
            guard found else { throw AccessError(.notFound, "no population export grant \(id) in force") }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
    }

    /// Every grant, or those in force now for `organization`.
    private func readGrants(activeFor organization: String?) async throws -> [PopulationExportGrant] {
        let logger = self.logger
        let active = organization != nil
        return try await self.database.withConnection("read population export grants") { connection in
            let rows = try await connection.query(
                """
                SELECT id::text, organization_id, clients, purpose, basis, granted_by, approved_by, lower(period), upper(period), revoked_at
                FROM population_export_grants
                WHERE (NOT \(active) OR (organization_id = \(organization ?? "") AND revoked_at IS NULL AND approved_by IS NOT NULL AND period @> now()))
                ORDER BY upper(period) DESC, created_at DESC
                """,
                logger: logger)
            var grants: [PopulationExportGrant] = []
            for try await (id, organization, clients, purpose, basis, grantor, approver, from, until, revoked) in rows.decode(
                (String, String, [String], String, String, String, String?, Date, Date, Date?).self)
            {
                grants.append(
                    PopulationExportGrant(
                        id: id, organization: organization, clients: clients, purpose: purpose, basis: basis, grantedBy: grantor,
                        approvedBy: approver, validFrom: UTCTime(from).instant, validUntil: UTCTime(until).instant,
                        revokedAt: revoked.map { UTCTime($0).instant }))
            }
            return grants
        }
    }

    /// Refuses (403) an administrator outside an active commission: grants are the commission's.
    static func requireCommission(_ organization: String, toHave done: String, on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.query(
            "SELECT 1 FROM organizations WHERE id = \(organization) AND kind = 'commission' AND active", logger: logger)
        {
            return
        }
        throw AccessError(.forbidden, "a population export is \(done) by an administrator of the health commission")
    }

    static func instant(_ text: String) throws(AccessError) -> Date {
        guard text.contains("T"), let range = FHIRDateRange(text) else { throw AccessError(.invalid, "\(text) is not a FHIR instant") }
        return range.low
    }
}
