public import Foundation
import HubCrypto
public import HubFHIR
import HubStorage
import NIOCore
import PostgresNIO

/// Pages of a bulk export (`$export`): resources of one type as they were at one instant, read
/// through the caller's visible relation like every other read.
extension PostgresResourceStore {
    /// Up to `count` resources of `type` with ids after `afterID`, in id order, each in its
    /// version current at `asOf` (those created later, or deleted by then, left out). A version
    /// filed under another patient than the record is now is left out too: who may see it is
    /// judged by the record's current patient. So are records whose patient was erased (their
    /// bodies no longer open); the read says how far it went whatever it kept.
    ///
    /// - Parameters:
    ///   - since: Only versions written after it (`_since`).
    ///   - patients: Whose records: all, those filed under some patient (a Patient-level
    ///     export), or those of some patients (a Group-level export's members).
    ///   - filters: `_typeFilter` queries of `type`, of which a resource must match one; they
    ///     judge the current version's index (the index keeps no past versions).
    public func exportPage(
        _ type: ResourceType, asOf: Date, since: Date?, patients: ExportPatients, filters: [SearchQuery], afterID: String?, count: Int,
        access: RecordAccess
    ) async throws -> ExportRead {
        var sql = SQLBuilder()
        let typeName = type.rawValue
        let typeBind = sql.bind(typeName)
        let visible = access.visibleResources("r", sql: &sql)
        var conditions = ["r.type = \(typeBind)"]
        if let afterID { conditions.append("r.id > \(sql.bind(afterID))") }
        switch patients {
        case .all: break
        case .filed: conditions.append("r.patient_id IS NOT NULL")
        case .among(let members): conditions.append("r.patient_id = ANY(\(sql.bind(members)))")
        }
        if let since { conditions.append("v.last_updated > \(sql.bind(UTCTime(since).timestampLiteral))::timestamptz") }
        if !filters.isEmpty {
            var alternatives: [String] = []
            for query in filters where query.type == type {
                var clauses: [String] = []
                for clause in query.clauses {
                    clauses.append(try await self.condition(clause, type: typeBind, typeName: typeName, access: access, sql: &sql))
                }
                alternatives.append(clauses.isEmpty ? "true" : "(" + clauses.joined(separator: " AND ") + ")")
            }
            conditions.append("(" + (alternatives.isEmpty ? "false" : alternatives.joined(separator: " OR ")) + ")")
        }
        // The version as of `asOf` is the newest written by then; it is kept when it exists, is
        // not a deletion, and is sealed under the key of the patient the record is filed under now
        // — or under its own, outside every compartment then, when every clinical caller saw it
        // (a record `hub records reprocess` filed under a patient keeps its earlier versions' keys).
        let text = """
            SELECT r.id, v.version, v.last_updated, v.body FROM \(visible)
            CROSS JOIN LATERAL (
                SELECT x.version, x.last_updated, x.deleted, x.subject, x.body FROM resource_versions x
                WHERE x.type = r.type AND x.id = r.id AND x.last_updated <= \(sql.bind(UTCTime(asOf).timestampLiteral))::timestamptz
                ORDER BY x.version DESC LIMIT 1) v
            WHERE \(conditions.joined(separator: "\n  AND "))
              AND NOT v.deleted AND v.subject IN ('Patient/' || r.patient_id, r.type || '/' || r.id)
            ORDER BY r.id LIMIT \(sql.bind(max(1, count)))
            """
        let statement = sql.query(text)
        let logger = self.logger
        let rows = try await self.database.withConnection("export page") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var result: [(String, Int, Date, ByteBuffer?)] = []
            for try await row in rows.decode((String, Int, Date, ByteBuffer?).self) { result.append(row) }
            return result
        }
        var read = ExportRead(resources: [], examined: rows.count, lastID: rows.last?.0)
        read.resources.reserveCapacity(rows.count)
        for (id, version, lastUpdated, body) in rows {
            do {
                read.resources.append(try await self.opened(type, id, version, lastUpdated, false, body))
            } catch let error as CryptographyError where error.code == .erased {
                read.erased += 1
            }
        }
        return read
    }
}

/// One page of an export as the store read it.
public struct ExportRead: Sendable {
    /// The resources kept, in id order.
    public var resources: [StoredResource]
    /// The rows the page read (erased ones included): a page of fewer than asked is the type's
    /// last.
    public var examined: Int
    /// The last of those rows' ids: where the next page starts.
    public var lastID: String?
    /// Records left out because their patient was erased.
    public var erased = 0
}
