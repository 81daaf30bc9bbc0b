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
    }

    public func erase(subject: String) async throws -> Report {
        let ring = self.ring
        let logger = self.logger
        let (keys, rows) = try await self.database.withTransaction("erase records") { connection in
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
            return (try await ring.eraseKeys(subject: subject, on: connection), removed)
        }
        ring.forget(keys, subject: subject)
        return Report(dataKeys: keys.count, indexRows: rows)
    }
}
