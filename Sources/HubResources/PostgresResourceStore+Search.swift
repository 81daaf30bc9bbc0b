import Foundation
import HubAudit
import HubCrypto
import HubFHIR
import HubStorage
import NIOCore
import PostgresNIO

extension PostgresResourceStore {
    /// Runs a search: one SQL statement over the index tables of current versions, paged by id
    /// (keyset: a page never shifts when rows are added or removed before it), then decrypts the
    /// page. Every value is a bound parameter; many OR'd values are one array parameter.
    public func search(_ query: SearchQuery, access: RecordAccess) async throws -> SearchResult {
        access.targets?.note(query.namedPatients)
        var sql = SQLBuilder()
        let typeName = query.type.rawValue
        let type = sql.bind(typeName)
        let visible = access.visibleResources("r", sql: &sql)
        var conditions = ["r.type = \(type)", "NOT r.deleted"]
        for clause in query.clauses {
            conditions.append(try await self.condition(clause, type: type, typeName: typeName, access: access, sql: &sql))
        }
        let whereClause = conditions.joined(separator: "\n  AND ")
        let logger = self.logger

        var total: Int?
        if query.wantsTotal {
            let count = sql.query("SELECT count(*)::bigint FROM \(visible) WHERE \(whereClause)")
            total = try await self.database.withConnection("count search") { connection in
                let rows = try await connection.query(count, logger: logger)
                for try await count in rows.decode(Int.self) { return count }
                return 0
            }
        }
        if query.countOnly || query.count == 0 {
            return SearchResult(resources: [], nextCursor: nil, total: total)
        }

        var pageConditions = whereClause
        var sortJoin = ""
        var sortKey = "NULL::text"
        let order: String
        switch query.sort {
        case .id(let descending):
            if let cursor = query.cursor {
                pageConditions += "\n  AND r.id \(descending ? "<" : ">") \(sql.bind(cursor))"
            }
            order = "r.id\(descending ? " DESC" : "")"
        case .lastUpdated(let descending):
            if let cursor = try query.cursor.map(TimeCursor.init(parsing:)) {
                let time = sql.bind(cursor.timestampLiteral)
                pageConditions += "\n  AND (r.last_updated, r.id) \(descending ? "<" : ">") (\(time)::timestamptz, \(sql.bind(cursor.key)))"
            }
            order = descending ? "r.last_updated DESC, r.id DESC" : "r.last_updated, r.id"
        case .parameter(let name, let kind, let descending):
            // The resource's earliest date or lowest code for the parameter; none sorts last.
            let param = sql.bind(name)
            let (table, column) = kind == .date ? ("search_date", "low") : ("search_token", "code")
            sortJoin =
                "LEFT JOIN LATERAL (SELECT min(k.\(column)) AS key FROM \(table) k WHERE k.type = r.type AND k.id = r.id AND k.param = \(param)) s ON true"
            sortKey = kind == .date ? "(extract(epoch FROM s.key) * 1000000)::bigint::text" : "s.key"
            if let cursor = query.cursor {
                let position = try Self.parameterCursor(cursor)
                let id = sql.bind(position.id)
                let before = descending ? "<" : ">"
                if let keyText = position.key {
                    let key =
                        kind == .date
                        ? "\(sql.bind(UTCTime(microsecondsSince1970: Int64(keyText) ?? 0).timestampLiteral))::timestamptz" : sql.bind(keyText)
                    pageConditions += "\n  AND (s.key \(before) \(key) OR (s.key = \(key) AND r.id \(before) \(id)) OR s.key IS NULL)"
                } else {
                    pageConditions += "\n  AND s.key IS NULL AND r.id \(before) \(id)"
                }
            }
            order = descending ? "s.key DESC NULLS LAST, r.id DESC" : "s.key ASC NULLS LAST, r.id"
        }
        let limit = sql.bind(query.count + 1)
        let pageSQL = """
            SELECT r.id, r.version, r.last_updated, v.body, \(sortKey) FROM \(visible)
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            \(sortJoin)
            WHERE \(pageConditions)
            ORDER BY \(order) LIMIT \(limit)
            """
        let page = sql.reusable(pageSQL, if: Self.namesOneRecord(query))
        let rows = try await self.database.withConnection("search") { connection in
            let rows = try await connection.query(page, logger: logger)
            var result: [(String, Int, Date, ByteBuffer?, String?)] = []
            for try await row in rows.decode((String, Int, Date, ByteBuffer?, String?).self) { result.append(row) }
            return result
        }
        var resources: [StoredResource] = []
        for (id, version, lastUpdated, body, _) in rows.prefix(query.count) {
            resources.append(try await self.opened(query.type, id, version, lastUpdated, false, body))
        }
        var next: String?
        if rows.count > query.count, let last = rows.prefix(query.count).last {
            switch query.sort {
            case .id: next = last.0
            case .lastUpdated: next = TimeCursor.encode(last.2, last.0)
            case .parameter: next = Self.parameterCursor(key: last.4, id: last.0)
            }
        }
        let included = try await self.included(for: resources, query: query, access: access)
        return SearchResult(resources: resources, included: included, nextCursor: next, total: total)
    }

    /// Whether `query` asks for one record by what names it — its id or one full identifier —
    /// and nothing else: the one kind of search whose best plan does not depend on its values
    /// (the key's index, then the page), so it is prepared once per connection rather than
    /// planned per call. A search over a code or a date is not: a plan kept for the average
    /// value can be ruinous for a rare one (docs/performance.md).
    static func namesOneRecord(_ query: SearchQuery) -> Bool {
        guard query.clauses.count == 1, query.sort == .id(descending: false) else { return false }
        switch query.clauses[0] {
        case .id(let ids): return ids.count == 1
        case .token("identifier", let values, false, _):
            return values.count == 1 && values[0].system != nil && values[0].code != nil
        default: return false
        }
    }

    /// Resources `_include` and `_revinclude` ask for, at most ``maximumIncluded``, each once.
    static let maximumIncluded = 1000

    private func included(for matches: [StoredResource], query: SearchQuery, access: RecordAccess) async throws -> [StoredResource] {
        guard !matches.isEmpty, !query.includes.isEmpty || !query.reverseIncludes.isEmpty else { return [] }
        let ids = matches.map(\.id)
        let typeName = query.type.rawValue
        let logger = self.logger
        var targets: [(String, String)] = []
        if !query.includes.isEmpty {
            let params = query.includes
            targets += try await self.database.withConnection("include") { connection in
                let rows = try await connection.query(
                    """
                    SELECT DISTINCT target_type, target_id FROM search_reference
                    WHERE type = \(typeName) AND id = ANY(\(ids)) AND param = ANY(\(params))
                    LIMIT \(Self.maximumIncluded)
                    """,
                    logger: logger
                )
                var found: [(String, String)] = []
                for try await row in rows.decode((String, String).self) { found.append(row) }
                return found
            }
        }
        for (source, param) in query.reverseIncludes {
            var sql = SQLBuilder()
            let text = """
                SELECT DISTINCT f.type, f.id FROM search_reference f
                JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = f.type AND r.id = f.id AND NOT r.deleted
                WHERE f.type = \(sql.bind(source.rawValue)) AND f.param = \(sql.bind(param)) AND f.target_type = \(sql.bind(typeName))
                  AND f.target_id = ANY(\(sql.bind(ids)))
                LIMIT \(sql.bind(Self.maximumIncluded))
                """
            let statement = sql.query(text)
            targets += try await self.database.withConnection("revinclude") { connection in
                let rows = try await connection.query(statement, logger: logger)
                var found: [(String, String)] = []
                for try await row in rows.decode((String, String).self) { found.append(row) }
                return found
            }
        }
        var seen = Set(matches.map { "\($0.type.rawValue)/\($0.id)" })
        var included: [StoredResource] = []
        for (targetType, targetID) in targets where seen.insert("\(targetType)/\(targetID)").inserted {
            guard included.count < Self.maximumIncluded, let type = ResourceType(rawValue: targetType) else { continue }
            // A target that is gone (or was never stored here) is simply not included.
            if let resource = try? await self.read(type, id: targetID, access: access) {
                included.append(resource)
            }
        }
        return included
    }

    public func lastN(_ query: SearchQuery, patientID: String, max: Int, access: RecordAccess) async throws -> [StoredResource] {
        access.targets?.note(patientID)
        // The patient must be visible (404 otherwise), like $everything.
        _ = try await self.read(.patient, id: patientID, access: RecordAccess(access.rule))
        var sql = SQLBuilder()
        let type = sql.bind(ResourceType.observation.rawValue)
        let visible = access.visibleResources("r", sql: &sql)
        var conditions = ["r.type = \(type)", "r.patient_id = \(sql.bind(patientID))", "NOT r.deleted"]
        for clause in query.clauses {
            conditions.append(try await self.condition(clause, type: type, typeName: "Observation", access: access, sql: &sql))
        }
        // Grouped by the codes asked for, when the search names codes: an Observation coded in
        // two systems does not rank under the code nobody asked about.
        let codes = query.clauses.flatMap { clause -> [String] in
            guard case .token("code", let values, false, _) = clause else { return [] }
            return values.compactMap(\.code)
        }
        let codeFilter = codes.isEmpty ? "" : " AND c.code = ANY(\(sql.bind(codes)))"
        let text = """
            SELECT type, id, version, last_updated, body FROM (
              SELECT r.type, r.id, r.version, r.last_updated, v.body, d.high AS effective,
                     row_number() OVER (PARTITION BY c.system, c.code ORDER BY d.high DESC NULLS LAST, r.id) AS rank
              FROM \(visible)
              JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
              JOIN search_token c ON c.type = r.type AND c.id = r.id AND c.param = 'code'\(codeFilter)
              LEFT JOIN search_date d ON d.type = r.type AND d.id = r.id AND d.param = 'date'
              WHERE \(conditions.joined(separator: " AND "))
            ) ranked WHERE rank <= \(sql.bind(max))
            ORDER BY effective DESC NULLS LAST, id
            """
        let statement = sql.query(text)
        let logger = self.logger
        let rows = try await self.database.withConnection("lastn") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var result: [(String, String, Int, Date, ByteBuffer?)] = []
            for try await row in rows.decode((String, String, Int, Date, ByteBuffer?).self) { result.append(row) }
            return result
        }
        // An Observation with several codes ranks once per code: return it once.
        var seen: Set<String> = []
        var resources: [StoredResource] = []
        for (_, id, version, lastUpdated, body) in rows where seen.insert(id).inserted {
            resources.append(try await self.opened(.observation, id, version, lastUpdated, false, body))
        }
        return resources
    }

    public func everything(
        patientID: String, count: Int, after cursor: String?, filter: CaseHistoryFilter, access: RecordAccess
    ) async throws -> SearchResult {
        access.targets?.note(patientID)
        // The Patient must exist (and not be deleted) and be visible: 404/410 otherwise.
        _ = try await self.read(.patient, id: patientID, access: RecordAccess(access.rule))
        let limit = max(1, min(count, SearchQuery.maximumCount))
        // The case history in time order: each resource at its earliest clinical date (birth for
        // the Patient, effective time, period start, onset…), or when it was written if it has
        // none; keyset paging on (time, Type/id), the cursor `<µs since 1970>:<Type/id>`.
        let position = try cursor.map(TimeCursor.init(parsing:))
        let logger = self.logger
        var sql = SQLBuilder()
        var filterConditions = ""
        if let since = filter.since {
            filterConditions += " AND r.last_updated >= \(sql.bind(UTCTime(since).timestampLiteral))::timestamptz"
        }
        if let types = filter.types {
            filterConditions += " AND r.type = ANY(\(sql.bind(types.map(\.rawValue).sorted())))"
        }
        let afterTime = sql.bind(position?.timestampLiteral)
        let text = """
            SELECT r.type, r.id, r.version, r.last_updated, v.body, t.at FROM \(access.visibleResources("r", sql: &sql))
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            CROSS JOIN LATERAL (SELECT coalesce((SELECT min(k.low) FROM search_date k WHERE k.type = r.type AND k.id = r.id), r.last_updated) AS at) t
            WHERE r.patient_id = \(sql.bind(patientID)) AND NOT r.deleted\(filterConditions)
              AND (\(afterTime)::timestamptz IS NULL OR (t.at, r.type || '/' || r.id) > (\(afterTime)::timestamptz, \(sql.bind(position?.key ?? ""))))
            ORDER BY t.at, r.type || '/' || r.id LIMIT \(sql.bind(limit + 1))
            """
        let statement = sql.query(text)
        let rows = try await self.database.withConnection("everything") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var result: [(String, String, Int, Date, ByteBuffer?, Date)] = []
            for try await row in rows.decode((String, String, Int, Date, ByteBuffer?, Date).self) { result.append(row) }
            return result
        }
        var resources: [StoredResource] = []
        for (typeName, id, version, lastUpdated, body, _) in rows.prefix(limit) {
            guard let type = ResourceType(rawValue: typeName) else { continue }
            resources.append(try await self.opened(type, id, version, lastUpdated, false, body))
        }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = TimeCursor.encode(last.5, "\(last.0)/\(last.1)")
        }
        return SearchResult(resources: resources, nextCursor: next, total: nil)
    }
}

extension PostgresResourceStore {
    /// A keyset position under a parameter sort: `k<hex of the key>:<id>`, or `n:<id>` after the
    /// resources without a value (hex, because codes may hold `:`).
    static func parameterCursor(key: String?, id: String) -> String {
        guard let key else { return "n:\(id)" }
        return "k" + key.utf8.map { String(format: "%02x", $0) }.joined() + ":" + id
    }

    static func parameterCursor(_ cursor: String) throws(ResourceError) -> (key: String?, id: String) {
        let parts = cursor.split(separator: ":", maxSplits: 1).map(String.init)
        let bad = ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
        guard parts.count == 2 else { throw bad }
        if parts[0] == "n" { return (nil, parts[1]) }
        let hex = Array(parts[0].utf8.dropFirst())
        guard parts[0].hasPrefix("k"), hex.count % 2 == 0 else { throw bad }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: hex.count, by: 2) {
            guard let byte = UInt8(String(decoding: hex[index..<(index + 2)], as: UTF8.self), radix: 16) else { throw bad }
            bytes.append(byte)
        }
        return (String(decoding: bytes, as: UTF8.self), parts[1])
    }
}
