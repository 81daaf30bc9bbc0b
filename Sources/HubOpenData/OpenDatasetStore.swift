import Foundation
import HubAudit
public import HubAuditCore
public import HubCrypto
import HubFHIR
public import HubOpenDataCore
import HubResources
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// A dataset as regulators see it: its definition and where it is in its approval.
public struct OpenDataset: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Defined, waiting for a second regulator's approval; nothing is computed.
        case proposed
        /// Approved: the hub computes releases, regulators publish them.
        case approved
        /// Withdrawn: out of the catalog, its releases no longer served.
        case withdrawn
    }

    public struct Release: Sendable, Codable, Equatable {
        public var number: Int
        public var recordsAsOf: String
        public var computedAt: String
        public var publishedAt: String?
        public var publishedBy: String?
    }

    public var id: String
    public var definition: DatasetDefinition
    public var state: State
    public var definedBy: String
    public var definedAt: String
    public var approvedBy: String?
    public var approvedAt: String?
    public var withdrawnAt: String?
    /// A release is being computed (or waits to be).
    public var releasePending: Bool
    /// Why the last computation failed, if it did.
    public var error: String?
    public var releases: [Release]
}

/// Open datasets in PostgreSQL (`open_datasets`, `open_releases`; migration 0020): defined by a
/// regulator of the health commission, approved by another (the two-person rule, also a CHECK in
/// the table), computed by ``OpenDataRunner``, published by a regulator — each step in one
/// transaction with its audit record. Nothing is served before it is published, nothing after
/// it is withdrawn.
public struct OpenDatasetStore: Sendable {
    let database: Database
    let keyStore: any KeyStore
    let suite: CryptoSuite
    /// The smallest k a definition may ask for (`open_data.minimum_k`).
    public let minimumK: Int
    /// The most ε a dataset's releases may spend together (`open_data.epsilon_budget`): each
    /// release draws fresh noise, and averaging many would wear it away.
    public let epsilonBudget: Double
    let logger: Logger

    public init(database: Database, keyStore: any KeyStore, suite: CryptoSuite, minimumK: Int, epsilonBudget: Double = 10, logger: Logger) {
        self.database = database
        self.keyStore = keyStore
        self.suite = suite
        self.minimumK = minimumK
        self.epsilonBudget = epsilonBudget
        self.logger = logger
    }

    /// Whether `organization` is an active health commission: open data is managed by its
    /// regulators, and internal releases are theirs alone.
    public func isCommission(_ organization: String?) async throws -> Bool {
        guard let organization else { return false }
        let logger = self.logger
        return try await self.database.withConnection("check open data steward") { connection in
            for try await _ in try await connection.query(
                "SELECT 1 FROM organizations WHERE id = \(organization) AND kind = 'commission' AND active", logger: logger)
            {
                return true
            }
            return false
        }
    }

    // MARK: Regulators

    /// Records `definition` (validated) as proposed by the calling regulator.
    public func define(_ definition: DatasetDefinition, audit: AuditContext) async throws -> OpenDataset {
        let checked: DatasetDefinition
        do {
            checked = try definition.validated(minimumK: self.minimumK)
        } catch {
            throw ResourceError(.invalid, .invalid, error.description)
        }
        if let epsilon = checked.epsilon, epsilon > self.epsilonBudget {
            throw ResourceError(.invalid, .invalid, "epsilon \(epsilon) is beyond the hub's budget of \(self.epsilonBudget) per dataset")
        }
        let regulator = try Self.regulator(audit)
        let id = UUID().uuidString.lowercased()
        let text = String(decoding: try JSONEncoder().encode(checked), as: UTF8.self)
        let record = Self.record(.create, id: id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("define open dataset") { connection in
            try await Self.requireCommission(audit, on: connection, logger: logger)
            try await connection.run(
                """
                INSERT INTO open_datasets (id, definition, classification, defined_by)
                VALUES (\(id)::uuid, \(text)::jsonb, \(checked.classification.rawValue), \(regulator))
                """, logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return try await self.require(id)
    }

    /// Approves a proposed dataset: a regulator other than the one who defined it. The first
    /// release is asked for at once.
    public func approve(_ id: String, audit: AuditContext) async throws -> OpenDataset {
        let regulator = try Self.regulator(audit)
        let record = Self.record(.update, id: id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("approve open dataset") { connection in
            try await Self.requireCommission(audit, on: connection, logger: logger)
            let state = try await Self.lock(id, on: connection, logger: logger)
            guard state.withdrawn == false else { throw ResourceError(.conflict, .conflict, "open dataset \(id) was withdrawn") }
            guard !state.approved else { throw ResourceError(.conflict, .conflict, "open dataset \(id) is approved already") }
            guard state.definedBy != regulator else {
                throw ResourceError(.forbidden, .forbidden, "a dataset is approved by another regulator than the one who defined it")
            }
            try await connection.run(
                """
                UPDATE open_datasets SET approved_by = \(regulator), approved_at = now(), release_requested_at = now()
                WHERE id = \(id)::uuid
                """, logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return try await self.require(id)
    }

    /// Asks for a new release of an approved dataset (the records have changed since the last).
    public func requestRelease(_ id: String, audit: AuditContext) async throws -> OpenDataset {
        let record = Self.record(.execute, id: id, audit: audit)
        let (logger, budget) = (self.logger, self.epsilonBudget)
        try await self.database.withTransaction("request open data release") { connection in
            try await Self.requireCommission(audit, on: connection, logger: logger)
            let state = try await Self.lock(id, on: connection, logger: logger)
            guard state.approved, !state.withdrawn else {
                throw ResourceError(.conflict, .conflict, "open dataset \(id) is not approved, or was withdrawn")
            }
            try await Self.requireBudget(for: id, releases: 1, budget: budget, on: connection, logger: logger)
            try await connection.run(
                "UPDATE open_datasets SET release_requested_at = now(), attempts = 0, error = NULL WHERE id = \(id)::uuid", logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return try await self.require(id)
    }

    /// Publishes a computed release: renders it as JSON and CSV, signs both with the hub's key
    /// and serves them from now on (to whom its classification allows).
    public func publish(_ id: String, release number: Int, audit: AuditContext) async throws -> DatasetRelease {
        let regulator = try Self.regulator(audit)
        let logger = self.logger
        let stored = try await self.database.withConnection("read open data release") { connection in
            try await Self.computedRelease(id, number, on: connection, logger: logger)
        }
        guard var release = stored else { throw ResourceError(.notFound, .notFound, "no release \(number) of open dataset \(id)") }
        guard release.publishedAt == nil else {
            throw ResourceError(.conflict, .conflict, "release \(number) of open dataset \(id) was published already")
        }
        let now = Date()
        release.publishedAt = UTCTime(now).instant
        let (json, csv) = (release.json(), release.csv())
        // What the public catalog lists, without the table: a catalog request reads no rows.
        var listing = release
        listing.rows = []
        let summary = listing.json()
        let jsonSignature = try await self.sign(json, .json, release)
        let csvSignature = try await self.sign(csv, .csv, release)
        var published = Self.record(.update, id: id, audit: audit)
        published.entities.append("OpenDatasetRelease/\(id)/\(number)")
        let record = published
        let publishedAt = UTCTime(now).timestampLiteral
        try await self.database.withTransaction("publish open data release") { connection in
            try await Self.requireCommission(audit, on: connection, logger: logger)
            let state = try await Self.lock(id, on: connection, logger: logger)
            guard state.approved, !state.withdrawn else { throw ResourceError(.conflict, .conflict, "open dataset \(id) was withdrawn") }
            var updated = false
            for try await _ in try await connection.query(
                """
                UPDATE open_releases SET published_by = \(regulator), published_at = \(publishedAt)::timestamptz,
                    summary = \(ByteBuffer(bytes: summary)), json = \(ByteBuffer(bytes: json)), json_signature = \(jsonSignature), csv = \(ByteBuffer(bytes: csv)), csv_signature = \(csvSignature)
                WHERE dataset_id = \(id)::uuid AND number = \(number) AND published_at IS NULL
                RETURNING 1
                """, logger: logger)
            {
                updated = true
            }
            guard updated else { throw ResourceError(.conflict, .conflict, "release \(number) of open dataset \(id) was published already") }
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
        return release
    }

    /// Withdraws a dataset: out of the catalog, its releases no longer served, no more computed.
    public func withdraw(_ id: String, audit: AuditContext) async throws {
        let regulator = try Self.regulator(audit)
        let record = Self.record(.delete, id: id, audit: audit)
        let logger = self.logger
        try await self.database.withTransaction("withdraw open dataset") { connection in
            try await Self.requireCommission(audit, on: connection, logger: logger)
            let state = try await Self.lock(id, on: connection, logger: logger)
            guard !state.withdrawn else { throw ResourceError(.conflict, .conflict, "open dataset \(id) was withdrawn already") }
            try await connection.run(
                """
                UPDATE open_datasets SET withdrawn_by = \(regulator), withdrawn_at = now(), release_requested_at = NULL,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = \(id)::uuid
                """, logger: logger)
            try await AuditLog.enqueue([record], on: connection, logger: logger)
        }
    }

    /// The hub's detached signature over a rendering, binding the release's subject.
    func sign(_ bytes: [UInt8], _ rendering: Rendering, _ release: DatasetRelease) async throws -> String {
        let mediaType = DatasetRelease.signedMediaType(rendering.mediaType, subject: release.signedSubject)
        let signed = try await self.keyStore.sign(DatasetRelease.signature.message(bytes, mediaType: mediaType), suite: self.suite)
        return Data(signed.serialized).base64EncodedString()
    }

    // MARK: Reading

    /// Every dataset, newest first, with its releases.
    public func datasets() async throws -> [OpenDataset] {
        try await self.read(nil)
    }

    /// One dataset, or nil.
    public func dataset(_ id: String) async throws -> OpenDataset? {
        guard UUID(uuidString: id) != nil else { return nil }
        return try await self.read(id).first
    }

    func require(_ id: String) async throws -> OpenDataset {
        guard let found = try await self.dataset(id) else { throw ResourceError(.notFound, .notFound, "no open dataset \(id)") }
        return found
    }

    /// The two renderings a published release is served in.
    public enum Rendering: String, Sendable, CaseIterable {
        case json, csv

        public var mediaType: String {
            switch self {
            case .json: "application/json"
            case .csv: "text/csv"
            }
        }
    }

    /// A published release's rendering, exactly as signed, with its signature and its dataset's
    /// classification; nil when there is none (not published, or withdrawn).
    public func published(_ id: String, release number: Int, as rendering: Rendering) async throws -> (
        bytes: [UInt8], signature: String, classification: Classification
    )? {
        guard UUID(uuidString: id) != nil else { return nil }
        let logger = self.logger
        let json = rendering == .json
        return try await self.database.withConnection("read open data release") { connection in
            let rows = try await connection.query(
                """
                SELECT CASE WHEN \(json) THEN r.json ELSE r.csv END, CASE WHEN \(json) THEN r.json_signature ELSE r.csv_signature END,
                       d.classification
                FROM open_releases r JOIN open_datasets d ON d.id = r.dataset_id
                WHERE r.dataset_id = \(id)::uuid AND r.number = \(number) AND r.published_at IS NOT NULL AND d.withdrawn_at IS NULL
                """, logger: logger)
            for try await (body, signature, classification) in rows.decode((ByteBuffer, String, String).self) {
                guard let classification = Classification(rawValue: classification) else { return nil }
                return (Array(buffer: body), signature, classification)
            }
            return nil
        }
    }

    /// A computed release for a regulator's review (published or not), unless withdrawn.
    public func computed(_ id: String, release number: Int) async throws -> DatasetRelease? {
        guard UUID(uuidString: id) != nil else { return nil }
        let logger = self.logger
        return try await self.database.withConnection("read open data release") { connection in
            try await Self.computedRelease(id, number, on: connection, logger: logger)
        }
    }

    /// The open catalog: every published release of every public dataset still listed, newest
    /// first — each without its table (`rows` empty), read from the summary kept at publication.
    public func catalog() async throws -> [DatasetRelease] {
        let logger = self.logger
        return try await self.database.withConnection("read open data catalog") { connection in
            let rows = try await connection.query(
                """
                SELECT r.summary, r.published_at FROM open_releases r JOIN open_datasets d ON d.id = r.dataset_id
                WHERE d.classification = 'public' AND d.withdrawn_at IS NULL AND r.published_at IS NOT NULL
                ORDER BY r.published_at DESC
                """, logger: logger)
            var releases: [DatasetRelease] = []
            for try await (body, published) in rows.decode((ByteBuffer, Date).self) {
                guard var release = try? JSONDecoder().decode(DatasetRelease.self, from: Data(body.readableBytesView)) else { continue }
                release.publishedAt = UTCTime(published).instant
                releases.append(release)
            }
            return releases
        }
    }

    // MARK: Internals

    static func computedRelease(_ id: String, _ number: Int, on connection: PostgresConnection, logger: Logger) async throws -> DatasetRelease? {
        let rows = try await connection.query(
            """
            SELECT r.release, r.published_at FROM open_releases r JOIN open_datasets d ON d.id = r.dataset_id
            WHERE r.dataset_id = \(id)::uuid AND r.number = \(number) AND d.withdrawn_at IS NULL
            """, logger: logger)
        for try await (body, published) in rows.decode((ByteBuffer, Date?).self) {
            var release = try JSONDecoder().decode(DatasetRelease.self, from: Data(body.readableBytesView))
            release.publishedAt = published.map { UTCTime($0).instant }
            return release
        }
        return nil
    }

    private func read(_ id: String?) async throws -> [OpenDataset] {
        let logger = self.logger
        let all = id == nil
        return try await self.database.withConnection("read open datasets") { connection in
            var datasets: [OpenDataset] = []
            let rows = try await connection.query(
                """
                SELECT id::text, definition::text, defined_by, defined_at, approved_by, approved_at, withdrawn_at,
                       release_requested_at IS NOT NULL, error
                FROM open_datasets WHERE \(all) OR id = \(id ?? UUID().uuidString)::uuid
                ORDER BY defined_at DESC
                """, logger: logger)
            for try await (id, definition, definedBy, definedAt, approvedBy, approvedAt, withdrawnAt, pending, error) in rows.decode(
                (String, String, String, Date, String?, Date?, Date?, Bool, String?).self)
            {
                let decoded = try JSONDecoder().decode(DatasetDefinition.self, from: Data(definition.utf8))
                let state: OpenDataset.State = withdrawnAt != nil ? .withdrawn : approvedBy != nil ? .approved : .proposed
                datasets.append(
                    OpenDataset(
                        id: id, definition: decoded, state: state, definedBy: definedBy, definedAt: UTCTime(definedAt).instant,
                        approvedBy: approvedBy, approvedAt: approvedAt.map { UTCTime($0).instant },
                        withdrawnAt: withdrawnAt.map { UTCTime($0).instant },
                        releasePending: pending && withdrawnAt == nil, error: error, releases: []))
            }
            let ids = datasets.map(\.id)
            guard !ids.isEmpty else { return datasets }
            let releases = try await connection.query(
                """
                SELECT dataset_id::text, number, records_as_of, computed_at, published_at, published_by FROM open_releases
                WHERE dataset_id::text = ANY(\(ids)) ORDER BY number DESC
                """, logger: logger)
            var byDataset: [String: [OpenDataset.Release]] = [:]
            for try await (dataset, number, asOf, computed, published, publisher) in releases.decode((String, Int, Date, Date, Date?, String?).self) {
                byDataset[dataset, default: []].append(
                    OpenDataset.Release(
                        number: number, recordsAsOf: UTCTime(asOf).instant, computedAt: UTCTime(computed).instant,
                        publishedAt: published.map { UTCTime($0).instant }, publishedBy: publisher))
            }
            return datasets.map { dataset in
                var dataset = dataset
                dataset.releases = byDataset[dataset.id] ?? []
                return dataset
            }
        }
    }

    struct LockedState {
        var definedBy: String
        var approved: Bool
        var withdrawn: Bool
    }

    /// Locks dataset `id` for a change; 404 when there is none.
    static func lock(_ id: String, on connection: PostgresConnection, logger: Logger) async throws -> LockedState {
        guard UUID(uuidString: id) != nil else { throw ResourceError(.notFound, .notFound, "no open dataset \(id)") }
        for try await (definedBy, approved, withdrawn) in try await connection.query(
            "SELECT defined_by, approved_by IS NOT NULL, withdrawn_at IS NOT NULL FROM open_datasets WHERE id = \(id)::uuid FOR UPDATE",
            logger: logger
        ).decode((String, Bool, Bool).self) {
            return LockedState(definedBy: definedBy, approved: approved, withdrawn: withdrawn)
        }
        throw ResourceError(.notFound, .notFound, "no open dataset \(id)")
    }

    /// Refuses (409) `releases` more releases of a noisy dataset when, with those it has, they
    /// would spend more than `budget` of ε together. Every release computed counts, published or
    /// not: regulators review each one's noisy table, and averaging many would wear the noise
    /// away. The dataset row is locked by the caller.
    static func requireBudget(for id: String, releases more: Int, budget: Double, on connection: PostgresConnection, logger: Logger) async throws {
        for try await (epsilon, releases) in try await connection.query(
            """
            SELECT (d.definition->>'epsilon')::float8, (SELECT count(*)::int FROM open_releases r WHERE r.dataset_id = d.id)
            FROM open_datasets d WHERE d.id = \(id)::uuid
            """, logger: logger
        ).decode((Double?, Int).self) {
            guard let epsilon else { return }
            guard Double(releases + more) * epsilon <= budget + 1e-9 else {
                throw ResourceError(
                    .conflict, .businessRule,
                    "open dataset \(id) has spent its privacy budget: \(releases) releases at ε \(epsilon) of \(budget); define a new dataset")
            }
        }
    }

    /// The calling regulator's id.
    static func regulator(_ audit: AuditContext) throws(ResourceError) -> String {
        guard let user = audit.caller.user else { throw ResourceError(.forbidden, .forbidden, "open datasets are managed by regulators") }
        return user
    }

    /// Refuses (403) a regulator outside an active health commission: open data is the
    /// commission's to release.
    static func requireCommission(_ audit: AuditContext, on connection: PostgresConnection, logger: Logger) async throws {
        let organization = audit.caller.organization ?? ""
        for try await _ in try await connection.query(
            "SELECT 1 FROM organizations WHERE id = \(organization) AND kind = 'commission' AND active", logger: logger)
        {
            return
        }
        throw ResourceError(.forbidden, .forbidden, "open datasets are managed by the health commission's regulators")
    }

    static func record(_ action: AuditRecord.Action, id: String, audit: AuditContext) -> AuditRecord {
        AuditRecord(
            time: Date(), action: action, interaction: audit.interaction, caller: audit.caller, resourceType: "OpenDataset",
            entities: ["OpenDataset/\(id)"])
    }
}
