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
              lease_until = now() + \(sql.bind(lease.seconds))::double precision * interval '1 second', attempts = attempts + 1
            WHERE id = (
              SELECT id FROM export_jobs
              WHERE (state = 'queued' OR (state = 'running' AND lease_until < now()))
                AND now() >= transaction_time + \(sql.bind(settleDelay.seconds))::double precision * interval '1 second'
                AND (pg_snapshot_xmin(pg_current_snapshot()) >= settle_xmax
                     OR now() >= transaction_time + \(sql.bind(settleLimit.seconds))::double precision * interval '1 second')
              ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING \(Self.jobColumns)
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

    /// What became of a page the runner tried to commit.
    public enum CommitOutcome: Sendable, Equatable {
        case committed
        /// The runner no longer holds the job at that cursor (deleted, or taken over): nothing written.
        case leaseLost
        /// A patient whose records the page holds was erased after the transaction time (while
        /// the page was read, or by a hub whose key cache still opened them): nothing written.
        case patientErased
        /// The population export grant the job reads under is no longer in force: nothing written.
        case grantEnded
    }

    /// One page, sealed, with the cursor after it and its audit records, in one transaction —
    /// only if `owner` still holds the job at `from`, and none of the page's patients has been
    /// erased since the transaction time. The job row is locked first, as an erasure locks the
    /// jobs in progress before it deletes those holding its patient: whichever comes second sees
    /// what the first committed.
    public func commitPage(
        of job: Job, owner: String, lease: Duration, from: ExportPlan.Cursor, to: ExportPlan.Cursor, page: ExportPage?,
        audit records: [AuditRecord]
    ) async throws -> CommitOutcome {
        var sealed: ByteBuffer?
        if let page {
            let bytes = try await self.ring.seal(
                page.ndjson, subject: Self.filesSubject(job.id), context: Self.partContext(job.id, page.type.rawValue, from.file, from.part))
            sealed = ByteBuffer(bytes: bytes)
        }
        let (id, logger, body) = (job.id, self.logger, sealed)
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET type_index = \(sql.bind(to.typeIndex)), after_id = \(sql.bind(to.afterID)),
              file_number = \(sql.bind(to.file)), in_file = \(sql.bind(to.inFile)), part_number = \(sql.bind(to.part)),
              exported = exported + \(sql.bind(page?.count ?? 0)),
              lease_until = now() + \(sql.bind(lease.seconds))::double precision * interval '1 second'
            WHERE id = \(sql.bind(id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
              AND type_index = \(sql.bind(from.typeIndex)) AND after_id IS NOT DISTINCT FROM \(sql.bind(from.afterID))
              AND file_number = \(sql.bind(from.file)) AND part_number = \(sql.bind(from.part))
            RETURNING 1
            """
        let update = sql.query(text)
        // Erased since the transaction time — or within a key cache's lifetime before it, during
        // which a hub that did not erase may still have opened the patient's records.
        let erasedSince = UTCTime(job.transactionTime.addingTimeInterval(-self.ring.cacheLifetime.seconds))
            .timestampLiteral
        do {
            return try await self.database.withTransaction("commit export page") { connection in
                var held = false
                for try await _ in try await connection.query(update, logger: logger) { held = true }
                guard held else { return CommitOutcome.leaseLost }
                if let grant = job.description.populationGrant {
                    var inForce = false
                    for try await _ in try await connection.query(
                        """
                        SELECT 1 FROM population_export_grants
                        WHERE id = \(grant)::uuid AND revoked_at IS NULL AND approved_by IS NOT NULL AND period @> now() FOR SHARE
                        """,
                        logger: logger)
                    {
                        inForce = true
                    }
                    guard inForce else { throw Rollback.grantEnded }
                }
                if let page, let body {
                    let subjects = page.patients.map { "Patient/\($0)" }
                    for try await _ in try await connection.query(
                        """
                        SELECT 1 FROM data_keys WHERE subject = ANY(\(subjects)) AND erased_at > \(erasedSince)::timestamptz LIMIT 1
                        """,
                        logger: logger)
                    {
                        throw Rollback.patientErased
                    }
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
                return CommitOutcome.committed
            }
        } catch Rollback.patientErased {
            return .patientErased
        } catch Rollback.grantEnded {
            return .grantEnded
        }
    }

    /// Ends a transaction without its writes.
    private enum Rollback: Error {
        case patientErased
        case grantEnded
    }

    /// Ends a job the runner holds: completed, or failed with `error` (no patient data in it);
    /// its files are kept for `lifetime` — or deleted at once with `discardingFiles`.
    @discardableResult
    public func finish(_ job: Job, owner: String, error: String?, lifetime: Duration, discardingFiles: Bool = false) async throws -> Bool {
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET state = \(sql.bind(error == nil ? State.completed.rawValue : State.failed.rawValue)), error = \(sql.bind(error)),
              completed_at = now(), expires_at = now() + \(sql.bind(lifetime.seconds))::double precision * interval '1 second',
              lease_owner = NULL, lease_until = NULL
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            RETURNING 1
            """
        let statement = sql.query(text)
        let (logger, id, ring) = (self.logger, job.id, self.ring)
        let (finished, erased) = try await self.database.withTransaction("finish export job") { connection in
            var finished = false
            for try await _ in try await connection.query(statement, logger: logger) { finished = true }
            var erased: [String] = []
            if finished && discardingFiles {
                try await connection.run("DELETE FROM export_parts WHERE job_id = \(id)::uuid", logger: logger)
                try await connection.run("DELETE FROM export_patients WHERE job_id = \(id)::uuid", logger: logger)
                erased = try await ring.eraseKeys(subject: Self.filesSubject(id), on: connection)
            }
            return (finished, erased)
        }
        self.ring.forget(erased, subject: Self.filesSubject(id))
        return finished
    }

    /// Gives a job back before its lease ends (the hub is stopping): another runner, or this
    /// hub's next start, resumes it at once from its committed cursor. A run given back is not
    /// an attempt that failed.
    public func release(_ job: Job, owner: String) async throws {
        var sql = SQLBuilder()
        let text = """
            UPDATE export_jobs SET lease_until = now() - interval '1 second', attempts = attempts - 1
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            """
        let statement = sql.query(text)
        let logger = self.logger
        try await self.database.withConnection("release export job") { connection in
            try await connection.run(statement, logger: logger)
        }
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
