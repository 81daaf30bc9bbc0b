public import Foundation
public import HubBulkDataCore
import HubFHIR
public import HubKeys
import HubResources
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// Export jobs and their files in PostgreSQL (`export_jobs`, `export_parts`, `export_patients`;
/// migration 0019).
///
/// Everything a job holds is sealed under a data key of its own (subject `export:<job id>`):
/// deleting a job — cancelled, expired, or holding an erased patient's records — erases that key
/// in the same transaction, so the NDJSON is unreadable from then on (a backup taken before keeps
/// the wrapped key until the KEK is rotated, as for every erasure: docs/crypto.md). A job's
/// status and files are answered only to the client that asked, within its organization (any
/// other caller learns nothing, not even that the job exists).
public struct ExportJobStore: Sendable {
    /// A job's state (the row's `state`).
    public enum State: String, Sendable {
        case queued, running, completed, failed
    }

    /// A job as the status route and the runner see it.
    public struct Job: Sendable {
        public var id: String
        public var organization: String
        public var principal: String
        public var description: ExportJobDescription
        public var transactionTime: Date
        public var state: State
        public var cursor: ExportPlan.Cursor
        public var exported: Int
        public var attempts: Int
        public var error: String?
        public var expiresAt: Date?
    }

    let database: Database
    let ring: DataKeyRing
    let logger: Logger

    public init(database: Database, ring: DataKeyRing, logger: Logger) {
        self.database = database
        self.ring = ring
        self.logger = logger
    }

    /// The data-key subject of a job's request, and of its files (erased alone when a job's
    /// files are discarded but its failure stays to be read).
    static func subject(_ job: String) -> String { RecordErasure.exportSubject(job) }
    static func filesSubject(_ job: String) -> String { RecordErasure.exportSubject(job) + "/files" }

    // MARK: Clients

    /// Queues a job for `principal`; nil when it already has one queued or running (IG v2 lets
    /// a server refuse a concurrent kick-off: 429).
    public func kickOff(_ description: ExportJobDescription, principal: String, organization: String, populationGrant: String? = nil) async throws
        -> (
            id: String, transactionTime: Date
        )?
    {
        let id = UUID().uuidString.lowercased()
        let logger = self.logger
        // A client with a job in progress is refused before a data key is made for nothing (the
        // insert below still decides a race).
        let busy = try await self.database.withConnection("check export jobs") { connection in
            for try await _ in try await connection.query(
                "SELECT 1 FROM export_jobs WHERE principal = \(principal) AND state IN ('queued', 'running')", logger: logger)
            {
                return true
            }
            return false
        }
        guard !busy else { return nil }
        // The hub's clock, as it stamps every version's lastUpdated, at the stamps' precision.
        let transactionTime = Date().wholeMilliseconds
        let sealed = try await self.ring.seal(description.serialized, subject: Self.subject(id), context: Array("export/\(id)/request".utf8))
        let (body, time) = (ByteBuffer(bytes: sealed), UTCTime(transactionTime).timestampLiteral)
        let inserted = try await self.database.withConnection("queue export") { connection in
            let rows = try await connection.query(
                """
                INSERT INTO export_jobs (id, organization, principal, request, population_grant, transaction_time, settle_xmax, state)
                VALUES (\(id)::uuid, \(organization), \(principal), \(body), \(populationGrant)::uuid, \(time)::timestamptz,
                        pg_snapshot_xmax(pg_current_snapshot()), 'queued')
                ON CONFLICT (principal) WHERE state IN ('queued', 'running') DO NOTHING
                RETURNING 1
                """,
                logger: logger
            )
            for try await _ in rows { return true }
            return false
        }
        guard inserted else {
            // The key made for the refused job seals nothing: erase it.
            try await self.ring.erase(subject: Self.subject(id))
            return nil
        }
        return (id, transactionTime)
    }

    /// The job, if `principal` of `organization` asked for it, its files have not expired and the
    /// population grant it read under (if any) is still in force; nil otherwise (also when it
    /// never existed).
    public func job(_ id: String, principal: String, organization: String) async throws -> Job? {
        guard UUID(uuidString: id) != nil else { return nil }
        let logger = self.logger
        var sql = SQLBuilder()
        let text = """
            SELECT \(Self.jobColumns) FROM export_jobs
            WHERE id = \(sql.bind(id))::uuid AND principal = \(sql.bind(principal)) AND organization = \(sql.bind(organization))
              AND (expires_at IS NULL OR expires_at > now())
              AND (population_grant IS NULL OR EXISTS (SELECT 1 FROM population_export_grants g
                   WHERE g.id = population_grant AND g.revoked_at IS NULL AND g.period @> now()))
            """
        let statement = sql.query(text)
        let row = try await self.database.withConnection("read export job") { connection in
            let rows = try await connection.query(statement, logger: logger)
            for try await row in rows.decode(Self.JobRow.self) { return row as Self.JobRow? }
            return nil
        }
        guard let row else { return nil }
        return try await self.job(from: row)
    }

    /// The files of a completed job, in the order of its types.
    public func files(of job: Job) async throws -> [ExportManifest.File] {
        let logger = self.logger
        let id = job.id
        let rows = try await self.database.withConnection("list export files") { connection in
            let rows = try await connection.query(
                """
                SELECT type, file_number, sum(resources)::bigint FROM export_parts WHERE job_id = \(id)::uuid
                GROUP BY type, file_number
                """,
                logger: logger
            )
            var result: [(String, Int, Int64)] = []
            for try await row in rows.decode((String, Int, Int64).self) { result.append(row) }
            return result
        }
        let order = job.description.request.types
        return rows.compactMap { typeName, number, count in
            ResourceType(rawValue: typeName).map { ExportManifest.File(type: $0, number: number, count: Int(count)) }
        }.sorted { a, b in
            let (ia, ib) = (order.firstIndex(of: a.type) ?? 0, order.firstIndex(of: b.type) ?? 0)
            return ia == ib ? a.number < b.number : ia < ib
        }
    }

    /// The parts of one file, in order, with the patients each holds; empty if there is no
    /// such file.
    public func parts(of job: Job, file: ExportManifest.File) async throws -> [(part: Int, patients: [String])] {
        let logger = self.logger
        let (id, type, number) = (job.id, file.type.rawValue, file.number)
        return try await self.database.withConnection("list export parts") { connection in
            let rows = try await connection.query(
                """
                SELECT part_number, patients FROM export_parts WHERE job_id = \(id)::uuid AND type = \(type) AND file_number = \(number)
                ORDER BY part_number
                """,
                logger: logger
            )
            var result: [(part: Int, patients: [String])] = []
            for try await (part, patients) in rows.decode((Int, [String]).self) { result.append((part, patients)) }
            return result
        }
    }

    /// One part's NDJSON, opened.
    public func body(of job: Job, file: ExportManifest.File, part: Int) async throws -> [UInt8] {
        let logger = self.logger
        let (id, type, number) = (job.id, file.type.rawValue, file.number)
        let sealed = try await self.database.withConnection("read export part") { connection in
            let rows = try await connection.query(
                """
                SELECT body FROM export_parts WHERE job_id = \(id)::uuid AND type = \(type) AND file_number = \(number) AND part_number = \(part)
                """,
                logger: logger
            )
            for try await body in rows.decode(ByteBuffer.self) { return Array(buffer: body) as [UInt8]? }
            return nil
        }
        guard let sealed else { throw StorageError(.queryFailed, "an export part went missing while it was read") }
        return try await self.ring.open(sealed, context: Self.partContext(id, type, number, part))
    }

    /// Deletes a job and its files (a client's `DELETE`: cancelled, or done with); false when
    /// `principal` has no such job.
    public func delete(_ id: String, principal: String, organization: String) async throws -> Bool {
        guard UUID(uuidString: id) != nil else { return false }
        return try await self.deleteJobs("delete export job") { connection, logger in
            try await connection.query(
                "DELETE FROM export_jobs WHERE id = \(id)::uuid AND principal = \(principal) AND organization = \(organization) RETURNING id::text",
                logger: logger)
        } > 0
    }

    /// Deletes the jobs whose files expired; returns how many.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        try await self.deleteJobs("purge expired exports") { connection, logger in
            try await connection.query("DELETE FROM export_jobs WHERE expires_at < now() RETURNING id::text", logger: logger)
        }
    }

    /// Runs a `DELETE … RETURNING id::text` of jobs and erases each deleted job's key, in one
    /// transaction.
    private func deleteJobs(
        _ operation: String, _ statement: @escaping @Sendable (PostgresConnection, Logger) async throws -> PostgresRowSequence
    ) async throws -> Int {
        let (ring, logger) = (self.ring, self.logger)
        let (count, erased) = try await self.database.withTransaction(operation) { connection in
            var ids: [String] = []
            for try await id in try await statement(connection, logger).decode(String.self) { ids.append(id) }
            var erased: [(String, [String])] = []
            for id in ids {
                for subject in [Self.subject(id), Self.filesSubject(id)] {
                    erased.append((subject, try await ring.eraseKeys(subject: subject, on: connection)))
                }
            }
            return (ids.count, erased)
        }
        for (subject, keys) in erased { ring.forget(keys, subject: subject) }
        return count
    }

    // MARK: Rows

    /// A job row's columns, as ``JobRow`` decodes them (after SELECT or RETURNING).
    static let jobColumns = """
        id::text, organization, principal, request, transaction_time, state, type_index, after_id, file_number, in_file,
        part_number, exported, attempts, error, expires_at
        """
    typealias JobRow = (String, String, String, ByteBuffer, Date, String, Int, String?, Int, Int, Int, Int64, Int, String?, Date?)

    func job(from row: JobRow) async throws -> Job {
        let (id, organization, principal, request, time, state, typeIndex, afterID, file, inFile, part, exported, attempts, error, expires) = row
        let opened = try await self.ring.open(Array(buffer: request), context: Array("export/\(id)/request".utf8))
        guard let description = ExportJobDescription(serialized: opened), let state = State(rawValue: state) else {
            throw StorageError(.queryFailed, "export job \(id) is not one this hub wrote")
        }
        return Job(
            id: id, organization: organization, principal: principal, description: description, transactionTime: time, state: state,
            cursor: ExportPlan.Cursor(typeIndex: typeIndex, afterID: afterID, file: file, inFile: inFile, part: part),
            exported: Int(exported), attempts: attempts, error: error, expiresAt: expires)
    }

    static func partContext(_ job: String, _ type: String, _ file: Int, _ part: Int) -> [UInt8] {
        Array("export/\(job)/\(type)/\(file)/\(part)".utf8)
    }
}
