import Foundation
public import HubStorage
public import Logging
import PostgresNIO

/// The progress of a long key job, as recorded in `crypto_jobs`.
public struct CryptoJobProgress: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var target: String
    public var processed: Int
    public var isDone: Bool
    public var cursor: String?

    /// Every job the database records, newest first; for `hub keys show`.
    public static func all(on database: Database, logger: Logger) async throws -> [CryptoJobProgress] {
        try await database.withConnection("list key jobs") { connection in
            let rows = try await connection.query(
                "SELECT name, kind, target, processed, state, cursor FROM crypto_jobs ORDER BY updated_at DESC",
                logger: logger
            )
            var jobs: [CryptoJobProgress] = []
            for try await (name, kind, target, processed, state, cursor) in rows.decode((String, String, String, Int, String, String?).self) {
                jobs.append(.init(name: name, kind: kind, target: target, processed: processed, isDone: state == "done", cursor: cursor))
            }
            return jobs
        }
    }

    /// Starts the job or finds where it stopped. A finished job with the same name starts over
    /// (a new rotation or migration to the same target is a new run).
    static func resume(name: String, kind: String, target: String, on connection: PostgresConnection, logger: Logger) async throws
        -> CryptoJobProgress
    {
        let rows = try await connection.query(
            """
            INSERT INTO crypto_jobs (name, kind, target) VALUES (\(name), \(kind), \(target))
            ON CONFLICT (name) DO UPDATE SET
                cursor = CASE WHEN crypto_jobs.state = 'done' THEN NULL ELSE crypto_jobs.cursor END,
                processed = CASE WHEN crypto_jobs.state = 'done' THEN 0 ELSE crypto_jobs.processed END,
                state = 'running',
                updated_at = now()
            RETURNING processed, cursor
            """,
            logger: logger
        )
        for try await (processed, cursor) in rows.decode((Int, String?).self) {
            return CryptoJobProgress(name: name, kind: kind, target: target, processed: processed, isDone: false, cursor: cursor)
        }
        throw StorageError(.queryFailed, "crypto job \(name) could not be recorded")
    }

    /// Records a batch's progress; called in the batch's own transaction so that progress and
    /// data commit together.
    static func advance(
        name: String,
        cursor: String?,
        by count: Int,
        done: Bool,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let state = done ? "done" : "running"
        try await connection.run(
            """
            UPDATE crypto_jobs SET cursor = \(cursor), processed = processed + \(count), state = \(state), updated_at = now()
            WHERE name = \(name)
            """,
            logger: logger
        )
    }
}
