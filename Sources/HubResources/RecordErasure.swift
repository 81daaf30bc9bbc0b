public import HubKeys
public import HubStorage
public import Logging
import PostgresNIO

/// Crypto-erasure of a subject's records (a patient's, `Patient/<id>`): its data keys are
/// destroyed, so every version sealed under them is unreadable, and — in the same transaction —
/// the search index rows of those records are deleted. The index holds codes, dates and
/// references in clear and blind indexes of names and identifiers: left behind, they would
/// still say which diagnoses and results the erased patient had, and link a resident ID
/// number presented later to the erased records (docs/security.md, "Blind indexes").
///
/// Bulk exports that hold the patient's records are deleted with their keys.
///
/// What remains: the rows of `resources` and `resource_versions` (ids, times, the patient id,
/// unreadable bodies), access facts and the audit log — the trail of who did what stays
/// verifiable.
public struct RecordErasure: Sendable {
    let database: Database
    let ring: DataKeyRing
    let logger: Logger

    public init(database: Database, ring: DataKeyRing, logger: Logger) {
        self.database = database
        self.ring = ring
        self.logger = logger
    }

    /// What an erasure removed.
    public struct Report: Sendable, Equatable {
        public var dataKeys: Int
        public var indexRows: Int
        /// Bulk exports deleted because they held the subject's records.
        public var exports: Int = 0
    }

    public func erase(subject: String) async throws -> Report {
        let ring = self.ring
        let logger = self.logger
        let (keys, rows, exports) = try await self.database.withTransaction("erase records") { connection in
            var removed = 0
            for table in SearchIndexer.tables {
                var sql = SQLBuilder()
                let text = """
                    WITH gone AS (DELETE FROM \(table) s USING (SELECT DISTINCT type, id FROM resource_versions WHERE subject = \(sql.bind(subject))) v
                    WHERE s.type = v.type AND s.id = v.id RETURNING 1)
                    SELECT count(*)::bigint FROM gone
                    """
                let rows = try await connection.query(sql.query(text), logger: logger)
                for try await count in rows.decode(Int64.self) { removed += Int(count) }
            }
            // Bulk exports holding the patient's records are sealed under keys of their own:
            // deleted, their keys erased, in the same transaction.
            var exports: [(String, [String])] = []
            if subject.hasPrefix("Patient/") {
                // Jobs in progress are locked first: a page of this patient's records that a runner
                // commits concurrently either commits before (and its job is deleted here) or waits
                // and then sees the erased key (ExportJobStore.commitPage refuses it).
                try await connection.run("SELECT 1 FROM export_jobs WHERE state IN ('queued', 'running') FOR UPDATE", logger: logger)
                let rows = try await connection.query(
                    """
                    DELETE FROM export_jobs WHERE id IN (SELECT job_id FROM export_patients WHERE patient_id = \(String(subject.dropFirst("Patient/".count))))
                    RETURNING id::text
                    """,
                    logger: logger)
                var jobs: [String] = []
                for try await job in rows.decode(String.self) { jobs.append(job) }
                for job in jobs {
                    for subject in [Self.exportSubject(job), Self.exportSubject(job) + "/files"] {
                        exports.append((subject, try await ring.eraseKeys(subject: subject, on: connection)))
                    }
                }
            }
            return (try await ring.eraseKeys(subject: subject, on: connection), removed, exports)
        }
        ring.forget(keys, subject: subject)
        for (exportSubject, erased) in exports { ring.forget(erased, subject: exportSubject) }
        return Report(dataKeys: keys.count, indexRows: rows, exports: exports.count / 2)
    }

    /// The data-key subject a bulk export's job is sealed under (its files: this and `/files`).
    public static func exportSubject(_ job: String) -> String { "export:\(job)" }
}
