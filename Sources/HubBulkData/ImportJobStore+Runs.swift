import Foundation
public import HubBulkDataCore
import HubFHIR
import HubKeys
import HubStorage
import NIOCore
public import PostgresNIO

/// The runner's side of the import tables: leases, batches committed with their cursor,
/// completion. Every change is conditional on the runner still holding the job's lease at the
/// cursor it read from, so a runner that lost it (stalled past the lease, or the client deleted
/// the job) changes nothing.
extension ImportJobStore {
    /// Takes the oldest job that is queued, or running under an expired lease.
    public func claim(owner: String, lease: Duration) async throws -> Job? {
        var sql = SQLBuilder()
        let text = """
            UPDATE import_jobs SET state = 'running', lease_owner = \(sql.bind(owner)),
              lease_until = now() + \(sql.bind(lease.seconds))::double precision * interval '1 second', attempts = attempts + 1
            WHERE id = (
              SELECT id FROM import_jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < now())
              ORDER BY lease_until NULLS FIRST, created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING \(Self.jobColumns)
            """
        return try await self.fetchJob(sql.query(text), "claim import job")
    }

    /// The NDJSON of the job's input at `index` of its processing order, opened; nil when the
    /// job has no such input.
    public func input(of job: Job, at index: Int) async throws -> [UInt8]? {
        let order = job.description.request.processingOrder
        guard order.indices.contains(index) else { return nil }
        let (inputID, jobID, logger) = (order[index].inputID, job.id, self.logger)
        let sealed = try await self.database.withConnection("read import input") { connection in
            let rows = try await connection.query(
                "SELECT body FROM import_inputs WHERE id = \(inputID)::uuid AND job_id = \(jobID)::uuid", logger: logger)
            for try await body in rows.decode(ByteBuffer.self) { return Array(buffer: body) as [UInt8]? }
            return nil
        }
        guard let sealed else { throw StorageError(.queryFailed, "an import input went missing while its job ran") }
        return try await self.ring.open(sealed, context: Self.inputContext(inputID))
    }

    /// Makes sure the job's key is at hand before a batch's transaction seals its error lines.
    public func prepareKey(of job: Job) async throws {
        try await self.ring.prepareDataKey(for: Self.subject(job.id))
    }

    /// At most this many refused lines are kept for the error file (an input of garbage must
    /// not fill the disk with reasons).
    public static let maximumErrorLines = 100_000

    /// The runner lost the job: its batch must not commit.
    public struct LeaseLost: Error {}

    /// Inside a batch's transaction: moves the job from `from` to `to` with the batch's counts
    /// and error lines, or throws ``LeaseLost`` (rolling the batch back) when `owner` no longer
    /// holds it there.
    public func commitBatch(
        on connection: PostgresConnection, job: Job, owner: String, lease: Duration, from: Cursor, to: Cursor, created: Int, skipped: Int,
        refusals: [ImportRefusal]
    ) async throws {
        var sql = SQLBuilder()
        let text = """
            UPDATE import_jobs SET input_index = \(sql.bind(to.input)), line_offset = \(sql.bind(to.line)),
              created = created + \(sql.bind(created)), skipped = skipped + \(sql.bind(skipped)), refused = refused + \(sql.bind(refusals.count)),
              lease_until = now() + \(sql.bind(lease.seconds))::double precision * interval '1 second'
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
              AND input_index = \(sql.bind(from.input)) AND line_offset = \(sql.bind(from.line))
            RETURNING refused
            """
        var refusedAfter: Int64?
        for try await refused in try await connection.query(sql.query(text), logger: self.logger).decode(Int64.self) { refusedAfter = refused }
        guard let refusedAfter else { throw LeaseLost() }
        // The error file keeps the first ``maximumErrorLines`` refusals; the count goes on.
        let room = Self.maximumErrorLines - (Int(refusedAfter) - refusals.count)
        guard !refusals.isEmpty, room > 0 else { return }
        var ndjson: [UInt8] = []
        for refusal in refusals.sorted(by: { $0.line < $1.line }).prefix(room) {
            ndjson += refusal.outcome.serialized()
            ndjson.append(UInt8(ascii: "\n"))
        }
        let sealed = ByteBuffer(
            bytes: try await self.ring.seal(ndjson, subject: Self.subject(job.id), context: Self.outcomesContext(job.id, from)))
        try await connection.run(
            """
            INSERT INTO import_outcomes (job_id, input_index, line_offset, refused, body)
            VALUES (\(job.id)::uuid, \(from.input), \(from.line), \(min(room, refusals.count)), \(sealed))
            """,
            logger: self.logger)
    }

    /// Ends a job the runner holds: completed, or failed with `error` (no patient data in it).
    /// Its inputs are deleted with their keys; its error lines stay for `lifetime`.
    @discardableResult
    public func finish(_ job: Job, owner: String, error: String?, lifetime: Duration) async throws -> Bool {
        var sql = SQLBuilder()
        let text = """
            WITH finished AS (
              UPDATE import_jobs SET state = \(sql.bind(error == nil ? State.completed.rawValue : State.failed.rawValue)), error = \(sql.bind(error)),
                completed_at = now(), expires_at = now() + \(sql.bind(lifetime.seconds))::double precision * interval '1 second',
                lease_owner = NULL, lease_until = NULL
              WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
              RETURNING id),
            inputs AS (DELETE FROM import_inputs WHERE job_id IN (SELECT id FROM finished) RETURNING id)
            SELECT 'job', id::text FROM finished UNION ALL SELECT 'input', id::text FROM inputs
            """
        let statement = sql.query(text)
        let (ring, logger) = (self.ring, self.logger)
        let (finished, erased) = try await self.database.withTransaction("finish import job") { connection in
            var rows: [(String, String)] = []
            for try await row in try await connection.query(statement, logger: logger).decode((String, String).self) { rows.append(row) }
            var erased: [(String, [String])] = []
            for (kind, id) in rows where kind == "input" {
                erased.append((Self.subject(id), try await ring.eraseKeys(subject: Self.subject(id), on: connection)))
            }
            return (rows.contains { $0.0 == "job" }, erased)
        }
        for (subject, keys) in erased { ring.forget(keys, subject: subject) }
        return finished
    }

    /// Holds a job back for `seconds` (its client's attempts at Patients another hospital
    /// registered are spent): no runner takes it before then. Not an attempt that failed.
    public func postpone(_ job: Job, owner: String, seconds: Int) async throws {
        var sql = SQLBuilder()
        let text = """
            UPDATE import_jobs SET lease_until = now() + \(sql.bind(Double(seconds)))::double precision * interval '1 second',
              attempts = attempts - 1, lease_owner = NULL
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            """
        let statement = sql.query(text)
        let logger = self.logger
        try await self.database.withConnection("postpone import job") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    /// Gives a job back before its lease ends — the hub is stopping, or the runner wrote its
    /// share of batches: it resumes from its committed cursor, after the jobs queued now (a
    /// queued job has no lease and comes first). A run given back is not an attempt that failed.
    public func release(_ job: Job, owner: String) async throws {
        var sql = SQLBuilder()
        let text = """
            UPDATE import_jobs SET lease_until = now() - interval '1 second', attempts = attempts - 1
            WHERE id = \(sql.bind(job.id))::uuid AND state = 'running' AND lease_owner = \(sql.bind(owner))
            """
        let statement = sql.query(text)
        let logger = self.logger
        try await self.database.withConnection("release import job") { connection in
            try await connection.run(statement, logger: logger)
        }
    }
}
