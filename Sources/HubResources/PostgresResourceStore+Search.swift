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
            let countSQL = "SELECT count(*)::bigint FROM \(visible) WHERE \(whereClause)"
            let countBinds = sql.bindings
            total = try await self.database.withConnection("count search") { connection in
                let rows = try await connection.query(PostgresQuery(unsafeSQL: countSQL, binds: countBinds), logger: logger)
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
        let binds = sql.bindings
        let rows = try await self.database.withConnection("search") { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: pageSQL, binds: binds), logger: logger)
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

    public func lastN(patientID: String, codes: [String], max: Int, access: RecordAccess) async throws -> [StoredResource] {
        access.targets?.note(patientID)
        // The patient must be visible (404 otherwise), like $everything.
        _ = try await self.read(.patient, id: patientID, access: RecordAccess(access.rule))
        var sql = SQLBuilder()
        let codeFilter = codes.isEmpty ? "" : " AND c.code = ANY(\(sql.bind(codes)))"
        let text = """
            SELECT type, id, version, last_updated, body FROM (
              SELECT r.type, r.id, r.version, r.last_updated, v.body,
                     row_number() OVER (PARTITION BY c.system, c.code ORDER BY d.high DESC NULLS LAST, r.id) AS rank
              FROM \(access.visibleResources("r", sql: &sql))
              JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
              JOIN search_token c ON c.type = r.type AND c.id = r.id AND c.param = 'code'\(codeFilter)
              LEFT JOIN search_date d ON d.type = r.type AND d.id = r.id AND d.param = 'date'
              WHERE r.type = 'Observation' AND r.patient_id = \(sql.bind(patientID)) AND NOT r.deleted
            ) ranked WHERE rank <= \(sql.bind(max))
            ORDER BY id
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

    public func everything(patientID: String, count: Int, after cursor: String?, access: RecordAccess) async throws -> SearchResult {
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
        let afterTime = sql.bind(position?.timestampLiteral)
        let text = """
            SELECT r.type, r.id, r.version, r.last_updated, v.body, t.at FROM \(access.visibleResources("r", sql: &sql))
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            CROSS JOIN LATERAL (SELECT coalesce((SELECT min(k.low) FROM search_date k WHERE k.type = r.type AND k.id = r.id), r.last_updated) AS at) t
            WHERE r.patient_id = \(sql.bind(patientID)) AND NOT r.deleted
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

    /// The SQL condition for one clause on the resources row `alias` (`r`, or `c` inside a chain)
    /// of the type bound as `type`. A chain's inner rows come from what `access` sees too: a chain
    /// through an invisible record must not answer questions about it.
    private func condition(
        _ clause: SearchQuery.Clause, type: String, typeName: String, access: RecordAccess, alias r: String = "r", sql: inout SQLBuilder
    ) async throws -> String {
        switch clause {
        case .id(let ids):
            return "\(r).id = ANY(\(sql.bind(ids)))"
        case .publisher(let organizations):
            return "\(r).organization = ANY(\(sql.bind(organizations)))"
        case .lastUpdated(let values):
            let alternatives = values.map { prefix, range in
                Self.dateCondition(prefix, low: "\(r).last_updated", high: "\(r).last_updated + interval '1 millisecond'", range: range, sql: &sql)
            }
            return "(" + alternatives.joined(separator: " OR ") + ")"
        case .token(let param, let values, let negated, let isBlind):
            var alternatives: [String] = []
            var pairs: [(String, String)] = []
            var codes: [String] = []
            var systems: [String] = []
            for (system, code) in values {
                let stored = try await code.asyncMap {
                    isBlind ? try await self.indexer.blindToken($0, domain: SearchIndexer.domain(typeName, param)) : $0
                }
                switch (system, stored) {
                case (let system?, let code?): pairs.append((system, code))
                case (nil, let code?): codes.append(code)
                case (let system?, nil): systems.append(system)
                case (nil, nil): break
                }
            }
            if pairs.count == 1 {
                // One value as scalars: PostgreSQL plans with its statistics for that very code,
                // so a common code (a LOINC test) does not drive the query past a rare clause
                // (the patient). An array hides the value from the planner.
                alternatives.append("(t.system = \(sql.bind(pairs[0].0)) AND t.code = \(sql.bind(pairs[0].1)))")
            } else if !pairs.isEmpty {
                // `code = ANY` first: PostgreSQL estimates it from its statistics (an unnest of
                // pairs it cannot see into).
                let pairCodes = sql.bind(pairs.map(\.1))
                alternatives.append(
                    "(t.code = ANY(\(pairCodes)) AND (t.system, t.code) IN (SELECT * FROM unnest(\(sql.bind(pairs.map(\.0)))::text[], \(pairCodes)::text[])))"
                )
            }
            if !codes.isEmpty { alternatives.append("t.code = ANY(\(sql.bind(codes)))") }
            if !systems.isEmpty { alternatives.append("t.system = ANY(\(sql.bind(systems)))") }
            let matching = """
                SELECT t.id FROM search_token t WHERE t.type = \(type) AND t.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR ")))
                """
            return negated ? "\(r).id NOT IN (\(matching))" : "\(r).id IN (\(matching))"
        case .string(let param, let values, let match):
            let paramBinding = sql.bind(param)
            var alternatives: [String] = []
            for value in values {
                var groups: [String] = []
                for texts in SearchKeys.searchTexts(value, match: match) {
                    let keys = try await self.indexer.blindIndexes(texts, .exact, SearchIndexer.domain(typeName, param)).map { ByteBuffer(bytes: $0) }
                    groups.append(
                        """
                        \(r).id IN (SELECT s.id FROM search_string s WHERE s.type = \(type) AND s.param = \(paramBinding) AND s.value = ANY(\(sql.bind(keys))))
                        """)
                }
                alternatives.append("(" + groups.joined(separator: " AND ") + ")")
            }
            return "(" + alternatives.joined(separator: " OR ") + ")"
        case .reference(let param, let values):
            let typed = values.compactMap { value in value.type.map { ($0, value.id) } }
            let untyped = values.filter { $0.type == nil }.map(\.id)
            var alternatives: [String] = []
            if typed.count == 1 {
                alternatives.append("(f.target_id = \(sql.bind(typed[0].1)) AND f.target_type = \(sql.bind(typed[0].0)))")
            } else if !typed.isEmpty {
                let targetIDs = sql.bind(typed.map(\.1))
                alternatives.append(
                    "(f.target_id = ANY(\(targetIDs)) AND (f.target_id, f.target_type) IN (SELECT * FROM unnest(\(targetIDs)::text[], \(sql.bind(typed.map(\.0)))::text[])))"
                )
            }
            if !untyped.isEmpty { alternatives.append("f.target_id = ANY(\(sql.bind(untyped)))") }
            return """
                \(r).id IN (SELECT f.id FROM search_reference f WHERE f.type = \(type) AND f.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR "))))
                """
        case .quantity(let param, let values):
            let alternatives = values.map { prefix, number, system, code -> String in
                let value = sql.bind(number)
                let half = sql.bind(Self.precisionHalf(number))
                let within = "q.value >= \(value)::numeric - \(half)::numeric AND q.value < \(value)::numeric + \(half)::numeric"
                var parts: [String]
                switch prefix {
                case .eq: parts = [within]
                case .ne: parts = ["NOT (\(within))"]
                case .gt, .sa: parts = ["q.value > \(value)::numeric"]
                case .lt, .eb: parts = ["q.value < \(value)::numeric"]
                case .ap:
                    parts = ["q.value BETWEEN \(value)::numeric - abs(\(value)::numeric) * 0.1 AND \(value)::numeric + abs(\(value)::numeric) * 0.1"]
                case .ge: parts = ["q.value >= \(value)::numeric"]
                case .le: parts = ["q.value <= \(value)::numeric"]
                }
                if let system { parts.append("q.system = \(sql.bind(system))") }
                if let code { parts.append("q.code = \(sql.bind(code))") }
                return "(" + parts.joined(separator: " AND ") + ")"
            }
            return """
                \(r).id IN (SELECT q.id FROM search_quantity q WHERE q.type = \(type) AND q.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR "))))
                """
        case .chain(let param, let target, let inner):
            let targetType = sql.bind(target.rawValue)
            let innerCondition = try await self.condition(inner, type: targetType, typeName: target.rawValue, access: access, alias: "c", sql: &sql)
            return """
                \(r).id IN (SELECT f.id FROM search_reference f WHERE f.type = \(type) AND f.param = \(sql.bind(param)) AND f.target_type = \(targetType)
                  AND f.target_id IN (SELECT c.id FROM \(access.visibleResources("c", sql: &sql)) WHERE c.type = \(targetType) AND NOT c.deleted AND \(innerCondition)))
                """
        case .date(let param, let values):
            let alternatives = values.map { prefix, range in
                Self.dateCondition(prefix, low: "d.low", high: "d.high", range: range, sql: &sql)
            }
            return """
                \(r).id IN (SELECT d.id FROM search_date d WHERE d.type = \(type) AND d.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR "))))
                """
        }
    }

    /// Half a unit in the last place of a decimal's text: a value stands for the range ± that
    /// (FHIR R4 §3.1.1.4.1): `5.4` is [5.35, 5.45), `100` is [99.5, 100.5). PostgreSQL's numeric
    /// does the arithmetic exactly.
    static func precisionHalf(_ number: String) -> String {
        let decimals = number.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
        return "0." + String(repeating: "0", count: decimals) + "5"
    }

    /// FHIR R4 §3.1.1.5.7: compares the target's range [low, high) with the search value's.
    static func dateCondition(_ prefix: SearchQuery.DatePrefix, low: String, high: String, range: FHIRDateRange, sql: inout SQLBuilder) -> String {
        let start = sql.bind(range.low)
        let end = sql.bind(range.high)
        let contained = "(\(low) >= \(start) AND \(high) <= \(end))"
        switch prefix {
        case .eq: return contained
        case .ne: return "NOT \(contained)"
        case .gt: return "\(high) > \(end)"
        case .lt: return "\(low) < \(start)"
        case .ge: return "(\(high) > \(end) OR \(contained))"
        case .le: return "(\(low) < \(start) OR \(contained))"
        case .sa: return "\(low) >= \(end)"
        case .eb: return "\(high) <= \(start)"
        case .ap:
            // Overlaps the value widened by 10% of its distance from now (at least a day), as
            // the specification suggests for an approximate date.
            let margin = max(abs(range.low.timeIntervalSinceNow) * 0.1, 86_400)
            let wideStart = sql.bind(range.low.addingTimeInterval(-margin))
            let wideEnd = sql.bind(range.high.addingTimeInterval(margin))
            return "(\(low) < \(wideEnd) AND \(high) > \(wideStart))"
        }
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

extension Optional {
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
