import Foundation
import HubAudit
import HubConfig
import HubCrypto
public import HubFHIR
import HubKeys
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Reads of single records and histories, each through the caller's visible relation.
extension PostgresResourceStore {
    public func read(_ type: ResourceType, id: String, access: RecordAccess) async throws -> StoredResource {
        let typeName = type.rawValue
        var sql = SQLBuilder()
        let text = """
            SELECT v.version, v.last_updated, v.deleted, v.body FROM \(access.visibleResources("r", sql: &sql))
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            WHERE r.type = \(sql.bind(typeName)) AND r.id = \(sql.bind(id))
            """
        // A probe by key: its plan is the same whatever the values, so it is planned once.
        let statement = sql.reusable(text)
        let row = try await self.database.withConnection("read resource") { connection in
            let rows = try await connection.query(statement, logger: self.logger)
            for try await row in rows.decode((Int, Date, Bool, ByteBuffer?).self) {
                return row as (Int, Date, Bool, ByteBuffer?)?
            }
            return nil
        }
        guard let (version, lastUpdated, deleted, body) = row else {
            await self.noteTarget(type, id, access: access)
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
        }
        guard !deleted else {
            await self.noteTarget(type, id, access: access)
            throw ResourceError(.gone, .deleted, "\(typeName)/\(id) was deleted (version \(version))")
        }
        return try await self.opened(type, id, version, lastUpdated, deleted, body)
    }

    public func read(_ type: ResourceType, id: String, version: Int, access: RecordAccess) async throws -> StoredResource {
        let typeName = type.rawValue
        var sql = SQLBuilder()
        let text = """
            SELECT v.last_updated, v.deleted, v.body FROM resource_versions v
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = v.type AND r.id = v.id
            WHERE v.type = \(sql.bind(typeName)) AND v.id = \(sql.bind(id)) AND v.version = \(sql.bind(version))
            """
        let statement = sql.reusable(text)
        let row = try await self.database.withConnection("read resource version") { connection in
            let rows = try await connection.query(statement, logger: self.logger)
            for try await row in rows.decode((Date, Bool, ByteBuffer?).self) {
                return row as (Date, Bool, ByteBuffer?)?
            }
            return nil
        }
        guard let (lastUpdated, deleted, body) = row else {
            await self.noteTarget(type, id, access: access)
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) has no version \(version)")
        }
        return try await self.opened(type, id, version, lastUpdated, deleted, body)
    }

    public func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow, access: RecordAccess) async throws -> [StoredResource] {
        let typeName = type.rawValue
        let limit = max(1, min(count, 1000))
        var sql = SQLBuilder()
        let text = """
            SELECT v.version, v.last_updated, v.deleted, v.body FROM resource_versions v
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = v.type AND r.id = v.id
            WHERE v.type = \(sql.bind(typeName)) AND v.id = \(sql.bind(id)) AND \(Self.inWindow("v", window, sql: &sql))
            ORDER BY v.version DESC LIMIT \(sql.bind(limit))
            """
        let statement = sql.query(text)
        let rows = try await self.database.withConnection("read history") { connection in
            let rows = try await connection.query(statement, logger: self.logger)
            var result: [(Int, Date, Bool, ByteBuffer?)] = []
            for try await row in rows.decode((Int, Date, Bool, ByteBuffer?).self) { result.append(row) }
            return result
        }
        guard !rows.isEmpty || window != .all else {
            await self.noteTarget(type, id, access: access)
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
        }
        // A window that keeps no version of a record that exists is an empty history; one of a
        // record the caller may not see is still 404, as without a window.
        if rows.isEmpty { _ = try await self.history(type, id: id, count: 1, window: .all, access: access) }
        var versions: [StoredResource] = []
        for (version, lastUpdated, deleted, body) in rows {
            versions.append(try await self.opened(type, id, version, lastUpdated, deleted, body))
        }
        return versions
    }

    public func history(_ type: ResourceType?, window: HistoryWindow, count: Int, after cursor: String?, access: RecordAccess) async throws -> (
        versions: [StoredResource], next: String?
    ) {
        let limit = max(1, min(count, 1000))
        // The cursor is `<microseconds since 1970>:<row key>` of the last version returned: the
        // order (time, row key) descending is total, so pages neither repeat nor skip.
        let position = try cursor.map(TimeCursor.init(parsing:))
        let typeName = type?.rawValue
        let logger = self.logger
        let (afterTime, afterKey) = (position?.timestampLiteral, position?.key ?? "")
        var sql = SQLBuilder()
        let typeBind = sql.bind(typeName)
        let afterTimeBind = sql.bind(afterTime)
        let text = """
            SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.body, v.row_key FROM resource_versions v
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = v.type AND r.id = v.id
            WHERE (\(typeBind)::text IS NULL OR v.type = \(typeBind))
              AND \(Self.inWindow("v", window, sql: &sql))
              AND (\(afterTimeBind)::timestamptz IS NULL OR (v.last_updated, v.row_key) < (\(afterTimeBind)::timestamptz, \(sql.bind(afterKey))))
            ORDER BY v.last_updated DESC, v.row_key DESC LIMIT \(sql.bind(limit + 1))
            """
        let statement = sql.query(text)
        let rows = try await self.database.withConnection("read history") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var result: [(String, String, Int, Date, Bool, ByteBuffer?, String)] = []
            for try await row in rows.decode((String, String, Int, Date, Bool, ByteBuffer?, String).self) { result.append(row) }
            return result
        }
        var versions: [StoredResource] = []
        for (typeName, id, version, lastUpdated, deleted, body, _) in rows.prefix(limit) {
            guard let rowType = ResourceType(rawValue: typeName) else { continue }
            versions.append(try await self.opened(rowType, id, version, lastUpdated, deleted, body))
        }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = TimeCursor.encode(last.3, last.6)
        }
        return (versions, next)
    }

    /// ``HistoryWindow``'s rule on the `resource_versions` row `v`, in one shape whatever the
    /// window (nulls switch its parts off), so that the statement is prepared once.
    static func inWindow(_ v: String, _ window: HistoryWindow, sql: inout SQLBuilder) -> String {
        let since = sql.bind(window.since)
        let (low, high) = (sql.bind(window.at?.low), sql.bind(window.at?.high))
        return """
            (\(since)::timestamptz IS NULL OR \(v).last_updated >= \(since))
              AND (\(high)::timestamptz IS NULL OR (\(v).last_updated < \(high) AND NOT EXISTS (
                SELECT 1 FROM resource_versions n WHERE n.type = \(v).type AND n.id = \(v).id AND n.version > \(v).version AND n.last_updated <= \(low))))
            """
    }

    func opened(
        _ type: ResourceType,
        _ id: String,
        _ version: Int,
        _ lastUpdated: Date,
        _ deleted: Bool,
        _ body: ByteBuffer?
    ) async throws -> StoredResource {
        let lastUpdated = lastUpdated.nearestMillisecond
        guard let body else {
            return StoredResource(type: type, id: id, versionID: version, lastUpdated: lastUpdated, isDeleted: deleted, resource: nil)
        }
        let plaintext = try await self.ring.open(Array(buffer: body), context: Self.context(type, id, version))
        guard let object = (try? JSONParser.parse(plaintext))?.objectValue else {
            throw StorageError(.queryFailed, "stored \(type.rawValue) version is not a JSON object")
        }
        return StoredResource(
            type: type, id: id, versionID: version, lastUpdated: lastUpdated, isDeleted: deleted, resource: object,
            patientID: PatientCompartment.storedPatient(of: object, type: type, id: id)
        )
    }
}
