import Foundation
public import HubAudit
public import HubBulkDataCore
public import HubFHIR
import HubKeys
import HubStorage
import NIOCore
import PostgresNIO

/// The runner's side of the job table: leases, pages committed with their cursor, completion.
/// Every change is conditional on the runner still holding the job's lease, so a runner that
/// lost it (it stalled past the lease, or the client deleted the job) changes nothing.
extension ExportJobStore {
    /// Takes the oldest job that is queued, or running under an expired lease, and whose
    /// transaction time has settled: every transaction that could still commit a version stamped
    /// at or before it has ended (those holding an id when the job was queued), or `settleLimit`
    /// has passed — a transaction open that long is outside every deadline the hub sets.
    public func claim(owner: String, lease: Duration, settleDelay: Duration, settleLimit: Duration) async throws -> Job? {
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET state = 'running', lease_owner = \(sql.bind(owner)),
              lease_until = now() + \(sql.bind(Self.seconds(lease)))::double precision * interval '1 second', attempts = attempts + 1
            WHERE id = (
              SELECT id FROM export_jobs
              WHERE (state = 'queued' OR (state = 'running' AND lease_until < now()))
                AND now() >= transaction_time + \(sql.bind(Self.seconds(settleDelay)))::double precision * interval '1 second'
                AND (pg_snapshot_xmin(pg_current_snapshot()) >= settle_xmax
                     OR now() >= transaction_time + \(sql.bind(Self.seconds(settleLimit)))::double precision * interval '1 second')
              ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            \(Self.jobColumns.replacingOccurrences(of: "SELECT", with: "RETURNING"))
            """
        let statement = sql.query(text)
        let logger = self.logger
        let row = try await self.database.withConnection("claim export job") { connection in
            let rows = try await connection.query(statement, logger: logger)
            for try await row in rows.decode(Self.JobRow.self) { return row as Self.JobRow? }
            return nil
        }
        guard let row else { return nil }
        return try await self.job(from: row)
    }

    /// One page, sealed, with the cursor after it and its audit records, in one transaction —
    /// only if `owner` still holds the job at `from`. False when it does not (nothing written).
    public func commitPage(
        of job: Job, owner: String, lease: Duration, from: ExportPlan.Cursor, to: ExportPlan.Cursor, page: ExportPage?,
        audit records: [AuditRecord]
    ) async throws -> Bool {
        var sealed: ByteBuffer?
        if let page {
            let bytes = try await self.ring.seal(
                page.ndjson, subject: Self.subject(job.id), context: Self.partContext(job.id, page.type.rawValue, from.file, from.part))
            sealed = ByteBuffer(bytes: bytes)
        }
        let (id, logger, body) = (job.id, self.logger, sealed)
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET type_index = \(sql.bind(to.typeIndex)), after_id = \(sql.bind(to.afterID)),
              file_number = \(sql.bind(to.file)), in_file = \(sql.bind(to.inFile)), part_number = \(sql.bind(to.part)),
              exported = exported + \(sql.bind(page?.count ?? 0)),
              lease_until = now() + \(sql.bind(Self.seconds(lease)))::double precision * interval '1 second'
            WHERE id = \(sql.bind(id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
              AND type_index = \(sql.bind(from.typeIndex)) AND after_id IS NOT DISTINCT FROM \(sql.bind(from.afterID))
              AND file_number = \(sql.bind(from.file)) AND part_number = \(sql.bind(from.part))
            RETURNING 1
            """
        let update = sql.query(text)
        return try await self.database.withTransaction("commit export page") { connection in
            var held = false
            for try await _ in try await connection.query(update, logger: logger) { held = true }
            guard held else { return false }
            if let page, let body {
                try await connection.run(
                    """
                    INSERT INTO export_parts (job_id, type, file_number, part_number, resources, patients, body)
                    VALUES (\(id)::uuid, \(page.type.rawValue), \(from.file), \(from.part), \(page.count), \(page.patients), \(body))
                    """,
                    logger: logger)
                if !page.patients.isEmpty {
                    try await connection.run(
                        """
                        INSERT INTO export_patients (patient_id, job_id) SELECT p, \(id)::uuid FROM unnest(\(page.patients)::text[]) AS p
                        ON CONFLICT DO NOTHING
                        """,
                        logger: logger)
                }
            }
            try await AuditLog.enqueue(records, on: connection, logger: logger)
            return true
        }
    }

    /// Ends a job the runner holds: completed, or failed with `error` (no patient data in it);
    /// its files are kept for `lifetime`.
    @discardableResult
    public func finish(_ job: Job, owner: String, error: String?, lifetime: Duration) async throws -> Bool {
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET state = \(sql.bind(error == nil ? State.completed.rawValue : State.failed.rawValue)), error = \(sql.bind(error)),
              completed_at = now(), expires_at = now() + \(sql.bind(Self.seconds(lifetime)))::double precision * interval '1 second',
              lease_owner = NULL, lease_until = NULL
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            RETURNING 1
            """
        let statement = sql.query(text)
        let logger = self.logger
        return try await self.database.withConnection("finish export job") { connection in
            for try await _ in try await connection.query(statement, logger: logger) { return true }
            return false
        }
    }

    /// Gives a job back before its lease ends (the hub is stopping): another runner, or this
    /// hub's next start, resumes it at once from its committed cursor.
    public func release(_ job: Job, owner: String) async throws {
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET lease_until = now() - interval '1 second'
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            """
        let statement = sql.query(text)
        let logger = self.logger
        try await self.database.withConnection("release export job") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// One page read for a file: its NDJSON and whose records it holds.
public struct ExportPage: Sendable {
    public var type: ResourceType
    public var ndjson: [UInt8]
    public var count: Int
    /// The patients whose records it holds, each once.
    public var patients: [String]

    public init(type: ResourceType, ndjson: [UInt8], count: Int, patients: [String]) {
        self.type = type
        self.ndjson = ndjson
        self.count = count
        self.patients = patients
    }
}
