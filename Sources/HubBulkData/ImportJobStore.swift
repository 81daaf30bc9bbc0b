public import Foundation
public import HubBulkDataCore
import HubFHIR
public import HubKeys
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// Import jobs, their staged inputs and their refused lines in PostgreSQL (`import_jobs`,
/// `import_inputs`, `import_outcomes`; migration 0021).
///
/// A staged input is sealed under a data key of its own (`import:<input id>`), a job's request
/// and error lines under the job's (`import:<job id>`); deleting either erases its key in the
/// same transaction. A job finished deletes its inputs: what stays is what it wrote (the records,
/// sealed under their patients' keys) and its error lines until the job expires. Everything is
/// answered only to the client that staged or asked for it, within its organization.
public struct ImportJobStore: Sendable {
    public enum State: String, Sendable {
        case queued, running, completed, failed
    }

    /// Where a running job is: the input (in ``ImportRequest/processingOrder``) and the line
    /// offset (0-based, counting every line of the input) within it.
    public struct Cursor: Sendable, Equatable {
        public var input: Int
        public var line: Int

        public init(input: Int, line: Int) {
            self.input = input
            self.line = line
        }
    }

    public struct Job: Sendable {
        public var id: String
        public var organization: String
        public var principal: String
        public var description: ImportJobDescription
        public var state: State
        public var cursor: Cursor
        public var created: Int
        public var skipped: Int
        public var refused: Int
        public var lines: Int
        public var attempts: Int
        public var error: String?
        public var createdAt: Date
        public var expiresAt: Date?
    }

    /// What a kick-off came to.
    public enum KickOff: Sendable, Equatable {
        case queued(id: String)
        /// The client has a job queued or running.
        case busy
        /// An input named is not one this client staged, unused and unexpired.
        case unknownInput
    }

    let database: Database
    let ring: DataKeyRing
    let logger: Logger
    /// How many bytes a client may have staged and not yet imported: a hospital stages its
    /// migration piece by piece, not the disk's worth.
    public let maximumStagedBytes: Int

    public init(database: Database, ring: DataKeyRing, logger: Logger, maximumStagedBytes: Int = 4 << 30) {
        self.database = database
        self.ring = ring
        self.logger = logger
        self.maximumStagedBytes = maximumStagedBytes
    }

    static func subject(_ id: String) -> String { "import:\(id)" }
    static func inputContext(_ id: String) -> [UInt8] { Array("import/\(id)/input".utf8) }
    static func requestContext(_ id: String) -> [UInt8] { Array("import/\(id)/request".utf8) }
    static func outcomesContext(_ id: String, _ cursor: Cursor) -> [UInt8] { Array("import/\(id)/outcomes/\(cursor.input)/\(cursor.line)".utf8) }

    // MARK: Clients

    /// Stages NDJSON for a later kick-off; returns its id and how many lines it has (blank ones
    /// aside), or nil when the client's staged inputs would pass ``maximumStagedBytes``. Kept for
    /// `lifetime` unless a job takes it.
    public func stage(_ ndjson: [UInt8], lines: Int, principal: String, organization: String, lifetime: Duration) async throws -> String? {
        // A full disk leaves its room to the audit records of reads (DiskReserve).
        try self.database.disk.requireRoom("stage import input")
        let id = UUID().uuidString.lowercased()
        let sealed = ByteBuffer(bytes: try await self.ring.seal(ndjson, subject: Self.subject(id), context: Self.inputContext(id)))
        var sql = SQLBuilder()
        let text = """
            INSERT INTO import_inputs (id, organization, principal, lines, bytes, body, expires_at)
            SELECT \(sql.bind(id))::uuid, \(sql.bind(organization)), \(sql.bind(principal)), \(sql.bind(lines)), \(sql.bind(ndjson.count)),
                   \(sql.bind(sealed)), now() + \(sql.bind(lifetime.seconds))::double precision * interval '1 second'
            WHERE (SELECT coalesce(sum(bytes), 0) FROM import_inputs WHERE principal = \(sql.bind(principal)) AND job_id IS NULL)
                  + \(sql.bind(ndjson.count)) <= \(sql.bind(self.maximumStagedBytes))
            RETURNING 1
            """
        let statement = sql.query(text)
        let logger = self.logger
        let stored: Bool
        do {
            stored = try await self.database.withTransaction("stage import input") { connection in
                // One staging of a client at a time: the quota's sum and the insert agree.
                try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\("import-stage:" + principal), 0))", logger: logger)
                for try await _ in try await connection.query(statement, logger: logger) { return true }
                return false
            }
        } catch {
            // The key made for a piece that was not stored seals nothing.
            _ = try? await self.ring.erase(subject: Self.subject(id))
            throw error
        }
        guard stored else {
            _ = try await self.ring.erase(subject: Self.subject(id))
            return nil
        }
        return id
    }

    /// Queues a job over inputs the client staged: they become the job's in the same
    /// transaction, or nothing happens.
    public func kickOff(_ description: ImportJobDescription, principal: String, organization: String) async throws -> KickOff {
        let id = UUID().uuidString.lowercased()
        let sealed = ByteBuffer(
            bytes: try await self.ring.seal(description.serialized, subject: Self.subject(id), context: Self.requestContext(id)))
        let inputs = description.request.inputs
        let logger = self.logger
        let outcome: KickOff
        do {
            outcome = try await self.database.withTransaction("queue import") { connection in
                var sql = SQLBuilder()
                let text = """
                    WITH named AS (SELECT * FROM unnest(\(sql.bind(inputs.map(\.inputID)))::uuid[], \(sql.bind(inputs.map(\.type.rawValue)))::text[])
                                   WITH ORDINALITY AS n(id, type, position)),
                    taken AS (UPDATE import_inputs i SET job_id = \(sql.bind(id))::uuid, position = n.position - 1, type = n.type
                              FROM named n
                              WHERE i.id = n.id AND i.principal = \(sql.bind(principal)) AND i.organization = \(sql.bind(organization))
                                AND i.job_id IS NULL AND i.expires_at > now()
                              RETURNING i.lines)
                    SELECT count(*)::int, coalesce(sum(lines), 0)::bigint FROM taken
                    """
                // The job row first: the inputs name it.
                let insert: PostgresQuery = """
                    INSERT INTO import_jobs (id, organization, principal, request, state, lines)
                    VALUES (\(id)::uuid, \(organization), \(principal), \(sealed), 'queued', 0)
                    ON CONFLICT (principal) WHERE state IN ('queued', 'running') DO NOTHING
                    RETURNING 1
                    """
                var inserted = false
                for try await _ in try await connection.query(insert, logger: logger) { inserted = true }
                guard inserted else { throw KickOffRefusal.busy }
                var taken = (0, Int64(0))
                for try await row in try await connection.query(sql.query(text), logger: logger).decode((Int, Int64).self) { taken = row }
                guard taken.0 == inputs.count else { throw KickOffRefusal.unknownInput }
                try await connection.run("UPDATE import_jobs SET lines = \(taken.1) WHERE id = \(id)::uuid", logger: logger)
                return KickOff.queued(id: id)
            }
        } catch let refusal as KickOffRefusal {
            outcome = refusal == .busy ? .busy : .unknownInput
        } catch {
            _ = try? await self.ring.erase(subject: Self.subject(id))
            throw error
        }
        if outcome != .queued(id: id) {
            // The key made for the refused job seals nothing: erase it.
            _ = try await self.ring.erase(subject: Self.subject(id))
        }
        return outcome
    }

    private enum KickOffRefusal: Error {
        case busy, unknownInput
    }

    /// The job, if `principal` of `organization` asked for it and it has not expired; nil
    /// otherwise (also when it never existed).
    public func job(_ id: String, principal: String, organization: String) async throws -> Job? {
        guard UUID(uuidString: id) != nil else { return nil }
        var sql = SQLBuilder()
        let text = """
            SELECT \(Self.jobColumns) FROM import_jobs
            WHERE id = \(sql.bind(id))::uuid AND principal = \(sql.bind(principal)) AND organization = \(sql.bind(organization))
              AND (expires_at IS NULL OR expires_at > now())
            """
        return try await self.fetchJob(sql.query(text), "read import job")
    }

    /// The batches of the error file, in processing order (each ``outcomes(of:at:)``).
    public func outcomeBatches(of job: Job) async throws -> [Cursor] {
        let (id, logger) = (job.id, self.logger)
        return try await self.database.withConnection("list import outcomes") { connection in
            let rows = try await connection.query(
                "SELECT input_index, line_offset FROM import_outcomes WHERE job_id = \(id)::uuid ORDER BY input_index, line_offset",
                logger: logger)
            var batches: [Cursor] = []
            for try await (input, line) in rows.decode((Int, Int).self) { batches.append(Cursor(input: input, line: line)) }
            return batches
        }
    }

    /// One batch's refused lines: an OperationOutcome per line, NDJSON.
    public func outcomes(of job: Job, at cursor: Cursor) async throws -> [UInt8] {
        let (id, logger) = (job.id, self.logger)
        let sealed = try await self.database.withConnection("read import outcomes") { connection in
            let rows = try await connection.query(
                "SELECT body FROM import_outcomes WHERE job_id = \(id)::uuid AND input_index = \(cursor.input) AND line_offset = \(cursor.line)",
                logger: logger)
            for try await body in rows.decode(ByteBuffer.self) { return Array(buffer: body) as [UInt8]? }
            return nil
        }
        guard let sealed else { throw StorageError(.queryFailed, "an import's error lines went missing while they were read") }
        return try await self.ring.open(sealed, context: Self.outcomesContext(id, cursor))
    }

    /// Deletes a job (a client's `DELETE`: what it wrote stays, its inputs and error lines go);
    /// false when `principal` has no such job.
    public func delete(_ id: String, principal: String, organization: String) async throws -> Bool {
        guard UUID(uuidString: id) != nil else { return false }
        return try await self.deleteRows("delete import job") { connection, logger in
            try await connection.query(
                """
                WITH gone AS (DELETE FROM import_jobs WHERE id = \(id)::uuid AND principal = \(principal) AND organization = \(organization)
                              RETURNING id)
                SELECT id::text FROM gone UNION ALL SELECT i.id::text FROM import_inputs i JOIN gone ON i.job_id = gone.id
                """,
                logger: logger)
        } > 0
    }

    /// Deletes expired jobs and inputs no job took in time, at most a hundred of each a round
    /// (each erases a key); returns how many rows went.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        try await self.deleteRows("purge expired imports") { connection, logger in
            try await connection.query(
                """
                WITH jobs AS (DELETE FROM import_jobs WHERE id IN (SELECT id FROM import_jobs WHERE expires_at < now() LIMIT 100) RETURNING id),
                inputs AS (DELETE FROM import_inputs
                           WHERE id IN (SELECT id FROM import_inputs WHERE job_id IS NULL AND expires_at < now() LIMIT 100)
                              OR job_id IN (SELECT id FROM jobs) RETURNING id)
                SELECT id::text FROM jobs UNION ALL SELECT id::text FROM inputs
                """,
                logger: logger)
        }
    }

    /// Runs a statement returning the ids of deleted jobs and inputs and erases each one's key,
    /// in one transaction.
    func deleteRows(
        _ operation: String, _ statement: @escaping @Sendable (PostgresConnection, Logger) async throws -> PostgresRowSequence
    ) async throws -> Int {
        let (ring, logger) = (self.ring, self.logger)
        let erased = try await self.database.withTransaction(operation) { connection in
            var ids: [String] = []
            for try await id in try await statement(connection, logger).decode(String.self) { ids.append(id) }
            var erased: [(String, [String])] = []
            for id in ids { erased.append((Self.subject(id), try await ring.eraseKeys(subject: Self.subject(id), on: connection))) }
            return erased
        }
        for (subject, keys) in erased { ring.forget(keys, subject: subject) }
        return erased.count
    }

    /// Whether the client that asked for the job is still registered and active: a client
    /// deactivated mid-import writes nothing more.
    public func clientIsActive(_ job: Job) async throws -> Bool {
        let (principal, organization, logger) = (job.principal, job.organization, self.logger)
        return try await self.database.withConnection("check import client") { connection in
            let rows = try await connection.query(
                "SELECT 1 FROM principals WHERE id = \(principal) AND organization_id = \(organization) AND active", logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    // MARK: Rows

    static let jobColumns = """
        id::text, organization, principal, request, state, input_index, line_offset, created, skipped, refused, lines, attempts, error,
        created_at, expires_at
        """
    typealias JobRow = (String, String, String, ByteBuffer, String, Int, Int, Int64, Int64, Int64, Int64, Int, String?, Date, Date?)

    func fetchJob(_ statement: PostgresQuery, _ operation: String) async throws -> Job? {
        let logger = self.logger
        let row = try await self.database.withConnection(operation) { connection in
            for try await row in try await connection.query(statement, logger: logger).decode(JobRow.self) { return row as JobRow? }
            return nil
        }
        guard let row else { return nil }
        let (id, organization, principal, request, state, input, line, created, skipped, refused, lines, attempts, error, createdAt, expires) = row
        let opened = try await self.ring.open(Array(buffer: request), context: Self.requestContext(id))
        guard let description = ImportJobDescription(serialized: opened), let state = State(rawValue: state) else {
            throw StorageError(.queryFailed, "import job \(id) is not one this hub wrote")
        }
        return Job(
            id: id, organization: organization, principal: principal, description: description, state: state,
            cursor: Cursor(input: input, line: line), created: Int(created), skipped: Int(skipped), refused: Int(refused), lines: Int(lines),
            attempts: attempts, error: error, createdAt: createdAt, expiresAt: expires)
    }
}
