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
        var query = query
        let pinned = try await self.identifierCandidates(&query)
        var sql = SQLBuilder()
        let typeName = query.type.rawValue
        let type = sql.bind(typeName)
        let visible = access.visibleResources("r", sql: &sql)
        var conditions = ["r.type = \(type)", "NOT r.deleted"]
        for clause in query.clauses {
            conditions.append(try await self.condition(clause, type: type, typeName: typeName, access: access, sql: &sql))
        }
        if let candidates = pinned, candidates.count <= Self.pinnedSlots {
            // Always all the slots, the free ones pinned to no record (`""` is no id): one text
            // and one plan for none, one or several holders, so that neither the statement's
            // cost nor its plan tells how many records elsewhere hold the identifier.
            let slots = (0..<Self.pinnedSlots).map { slot in sql.bind(slot < candidates.count ? candidates[slot] : "") }
            conditions.append("r.id IN (\(slots.joined(separator: ", ")))")
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
        let limit = sql.bind(query.count + 1)
        let pageSQL: String
        switch query.sort {
        case .id(let descending):
            if let cursor = query.cursor {
                pageConditions += "\n  AND r.id \(descending ? "<" : ">") \(sql.bind(cursor))"
            }
            pageSQL = Self.plainPage(visible: visible, conditions: pageConditions, order: "r.id\(descending ? " DESC" : "")", limit: limit)
        case .lastUpdated(let descending):
            if let cursor = try query.cursor.map(TimeCursor.init(parsing:)) {
                let time = sql.bind(cursor.timestampLiteral)
                pageConditions += "\n  AND (r.last_updated, r.id) \(descending ? "<" : ">") (\(time)::timestamptz, \(sql.bind(cursor.key)))"
            }
            let order = descending ? "r.last_updated DESC, r.id DESC" : "r.last_updated, r.id"
            pageSQL = Self.plainPage(visible: visible, conditions: pageConditions, order: order, limit: limit)
        case .parameter(let name, let kind, let descending):
            pageSQL = try Self.parameterSortedPage(
                visible: visible, conditions: whereClause, type: type, param: sql.bind(name), kind: kind, descending: descending,
                cursor: query.cursor, limit: limit, sql: &sql)
        case .keys(let keys):
            pageSQL = try Self.keySortedPage(
                visible: visible, conditions: whereClause, type: type, keys: keys, cursor: query.cursor, limit: limit, sql: &sql)
        }
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
            case .keys: next = "m\(last.4 ?? ""):\(last.0)"
            }
        }
        let included = try await self.included(for: resources, query: query, access: access)
        return SearchResult(resources: resources, included: included, nextCursor: next, total: total)
    }

    /// A page in the order of a column of `resources` (`id`, `last_updated`).
    static func plainPage(visible: String, conditions: String, order: String, limit: String) -> String {
        """
        SELECT r.id, r.version, r.last_updated, v.body, NULL::text FROM \(visible)
        JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
        WHERE \(conditions)
        ORDER BY \(order) LIMIT \(limit)
        """
    }

    /// A page sorted by a date or token parameter: by each resource's earliest date (lowest
    /// code) for it, then id; resources without one last, by id.
    ///
    /// Two phases, each read in the order of an index, so that a page of a whole type costs a
    /// page's worth of index entries rather than a sort of every resource: the keyed phase walks
    /// `search_date (type, param, low, …)` (or `search_token`'s) keeping for each resource only
    /// its lowest row; the keyless phase walks the resources that have none. The cursor says in
    /// which phase the last page ended.
    static func parameterSortedPage(
        visible: String, conditions: String, type: String, param: String, kind: SearchParameter.Kind, descending: Bool, cursor: String?,
        limit: String, sql: inout SQLBuilder
    ) throws(ResourceError) -> String {
        let (table, column) = kind == .date ? ("search_date", "low") : ("search_token", "code")
        let direction = descending ? "DESC" : "ASC"
        let before = descending ? "<" : ">"
        var keyedCursor = "true"
        var keylessCursor = "true"
        if let cursor {
            let position = try Self.parameterCursor(cursor)
            let id = sql.bind(position.id)
            if let keyText = position.key {
                let key: String
                if kind == .date {
                    guard let micros = Int64(keyText), UTCTime.representableMicroseconds.contains(micros) else {
                        throw ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
                    }
                    key = "\(sql.bind(UTCTime(microsecondsSince1970: micros).timestampLiteral))::timestamptz"
                } else {
                    key = sql.bind(keyText)
                }
                keyedCursor = "(k.\(column) \(before) \(key) OR (k.\(column) = \(key) AND r.id \(before) \(id)))"
            } else {
                keyedCursor = "false"
                keylessCursor = "r.id \(before) \(id)"
            }
        }
        let keyText = kind == .date ? "(extract(epoch FROM k.low) * 1000000)::bigint::text" : "k.code"
        // The keyless phase runs only when the keyed one falls short of a page: its condition on
        // the keyed rows' count is a one-time filter, so a page inside the keyed phase never
        // starts the scan for resources without a key (nearly every resource of a type has one).
        return """
            WITH keyed AS (
              SELECT 0 AS phase, r.id, r.version, r.last_updated, v.body, \(keyText) AS key, k.\(column) AS sort_key FROM \(table) k
              JOIN \(visible) ON r.type = k.type AND r.id = k.id
              JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
              WHERE k.type = \(type) AND k.param = \(param) AND \(conditions) AND \(keyedCursor)
                AND NOT EXISTS (SELECT 1 FROM \(table) l WHERE l.type = k.type AND l.id = k.id AND l.param = k.param
                  AND (l.\(column) < k.\(column) OR (l.\(column) = k.\(column) AND l.ctid < k.ctid)))
              ORDER BY k.\(column) \(direction), r.id \(direction) LIMIT \(limit))
            SELECT id, version, last_updated, body, key FROM (
              SELECT * FROM keyed
              UNION ALL
              (SELECT 1 AS phase, r.id, r.version, r.last_updated, v.body, NULL::text AS key, NULL AS sort_key FROM \(visible)
               JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
               WHERE (SELECT count(*) FROM keyed) < \(limit) AND \(conditions) AND \(keylessCursor)
                 AND NOT EXISTS (SELECT 1 FROM \(table) l WHERE l.type = r.type AND l.id = r.id AND l.param = \(param))
               ORDER BY r.id \(direction) LIMIT \(limit))
            ) page
            ORDER BY phase, sort_key \(direction), id \(direction) LIMIT \(limit)
            """
    }

    /// A page sorted by several keys (or one no index walks in order): each match's keys — its
    /// lowest value for each parameter, whichever the direction (as the one-key sort) — then id
    /// in the first key's direction; a resource without a value for a key comes after those
    /// with one, whichever the direction. The matches are sorted whole, so this
    /// suits searches narrowed by their criteria; one date or code key over a whole type keeps
    /// the index walk of ``parameterSortedPage``. The cursor carries every key of the last row.
    static func keySortedPage(
        visible: String, conditions: String, type: String, keys: [SearchQuery.SortKey], cursor: String?, limit: String, sql: inout SQLBuilder
    ) throws(ResourceError) -> String {
        var expressions: [(value: String, text: String, kind: SearchParameter.Kind?)] = []
        for key in keys {
            switch key.field {
            case .id: expressions.append(("r.id", "r.id", .token))
            case .lastUpdated:
                expressions.append(("r.last_updated", "(extract(epoch FROM r.last_updated) * 1000000)::bigint::text", .date))
            case .parameter(let name, let kind):
                let param = sql.bind(name)
                let (table, column, text): (String, String, String) =
                    switch kind {
                    case .date: ("search_date", "min(k.low)", "(extract(epoch FROM min(k.low)) * 1000000)::bigint::text")
                    case .quantity: ("search_quantity", "min(k.value)", "min(k.value)::text")
                    case .reference: ("search_reference", "min(k.target_type || '/' || k.target_id)", "min(k.target_type || '/' || k.target_id)")
                    default: ("search_token", "min(k.code)", "min(k.code)")
                    }
                let from = "FROM \(table) k WHERE k.type = r.type AND k.id = r.id AND k.param = \(param)"
                expressions.append(("(SELECT \(column) \(from))", "(SELECT \(text) \(from))", kind))
            }
        }
        // Ties by id in the first key's direction, as a sort by one key breaks them.
        let idDescending = keys.first?.descending ?? false
        var after = "true"
        if let cursor {
            let bad = ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
            let parts = cursor.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].hasPrefix("m") else { throw bad }
            let encoded = parts[0].dropFirst().split(separator: ".", omittingEmptySubsequences: false)
            guard encoded.count == keys.count else { throw bad }
            // Each key's value at the cursor (nil: the row had none), compared as its kind.
            var values: [String?] = []
            for (index, item) in encoded.enumerated() {
                if item == "n" {
                    values.append(nil)
                    continue
                }
                guard item.hasPrefix("k"), let text = Self.hexDecoded(item.dropFirst()) else { throw bad }
                let kind = expressions[index].kind
                switch kind {
                case .date:
                    guard let micros = Int64(text), UTCTime.representableMicroseconds.contains(micros) else { throw bad }
                    values.append("\(sql.bind(UTCTime(microsecondsSince1970: micros).timestampLiteral))::timestamptz")
                case .quantity:
                    guard SearchQuery.isDecimal(Substring(text)) else { throw bad }
                    values.append("\(sql.bind(text))::numeric")
                default: values.append(sql.bind(text))
                }
            }
            // Lexicographic: equal on the keys before, then after on this one; the id last.
            var alternatives: [String] = []
            var equalBefore: [String] = []
            for (index, key) in keys.enumerated() {
                let column = "s.s\(index)"
                let strictlyAfter: String
                let equal: String
                if let value = values[index] {
                    strictlyAfter = "(\(column) IS NULL OR \(column) \(key.descending ? "<" : ">") \(value))"
                    equal = "\(column) = \(value)"
                } else {
                    strictlyAfter = "false"
                    equal = "\(column) IS NULL"
                }
                alternatives.append("(" + (equalBefore + [strictlyAfter]).joined(separator: " AND ") + ")")
                equalBefore.append(equal)
            }
            alternatives.append("(" + (equalBefore + ["s.id \(idDescending ? "<" : ">") \(sql.bind(parts[1]))"]).joined(separator: " AND ") + ")")
            after = "(" + alternatives.joined(separator: " OR ") + ")"
        }
        let selected = expressions.enumerated().map { "\($1.value) AS s\($0), \($1.text) AS t\($0)" }.joined(separator: ", ")
        let order = keys.enumerated().map { index, key in "(s.s\(index) IS NULL), s.s\(index)\(key.descending ? " DESC" : "")" }
        let cursorText = keys.indices.map { "coalesce('k' || encode(convert_to(s.t\($0), 'UTF8'), 'hex'), 'n')" }.joined(separator: " || '.' || ")
        return """
            SELECT s.id, s.version, s.last_updated, v.body, \(cursorText) FROM (
              SELECT r.id, r.version, r.last_updated, \(selected) FROM \(visible) WHERE \(conditions)) s
            JOIN resource_versions v ON v.type = \(type) AND v.id = s.id AND v.version = s.version
            WHERE \(after)
            ORDER BY \((order + ["s.id\(idDescending ? " DESC" : "")"]).joined(separator: ", ")) LIMIT \(limit)
            """
    }

    static func hexDecoded(_ hex: Substring) -> String? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How many holders of one identifier a search pins its statement to (``identifierCandidates``).
    /// An identifier held by more records is searched unpinned, which costs PostgreSQL a planning
    /// of the access rule (about 2 ms): that is all the time tells — that more than this many
    /// records on the hub hold the identifier — and resident ID numbers are unique.
    static let pinnedSlots = 8

    /// For a search by one identifier with its system (``namesOneRecord``): the ids of the
    /// current records holding it, at most ``pinnedSlots`` + 1, found without the access rule;
    /// nil for any other search. The identifier in `query` is left as stored (its blind index),
    /// so that the search does not compute it again.
    ///
    /// Pinning the access-checked statement to those ids (`r.id IN (…)` over a fixed number of
    /// slots) makes its plan probes by key, which PostgreSQL keeps as a generic plan whatever its
    /// statistics say: the custom plan's estimate is the generic one's. Without the pin,
    /// the plan starts from the identifier's index rows, and PostgreSQL's estimate of how many
    /// rows one code matches comes from `search_token.code`'s distinct count — which `ANALYZE`
    /// underestimates thirtyfold where unique identifier indexes sit beside a few common codes
    /// (3,528 against 110,598 on the grown bench database): the generic plan then looks dearer than
    /// planning each call, and every identifier search planned the access rule again (1.9 ms of
    /// PostgreSQL per search; docs/performance.md). This probe touches one table and plans in
    /// about 0.1 ms. The candidates are never shown to the caller: the pinned statement applies
    /// the access rule and the identifier condition again. The two statements see the database
    /// each at its own moment: a record that gains the identifier between them is found by the
    /// next search.
    func identifierCandidates(_ query: inout SearchQuery) async throws -> [String]? {
        guard Self.namesOneRecord(query), case .token(let param, let values, let negated, let isBlind) = query.clauses[0] else { return nil }
        let stored = try await self.storedTokens(param, values, isBlind: isBlind, typeName: query.type.rawValue)
        query.clauses[0] = .token(param: param, values: stored, negated: negated, isBlind: false)
        var sql = SQLBuilder()
        let type = sql.bind(query.type.rawValue)
        let condition = Self.tokenCondition(param, stored, type: type, sql: &sql)
        let statement = sql.query("SELECT DISTINCT t.id FROM search_token t WHERE \(condition) ORDER BY t.id LIMIT \(Self.pinnedSlots + 1)")
        let logger = self.logger
        return try await self.database.withConnection("search candidates") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        }
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

    /// The first round applies every `_include` and `_revinclude` to the matches; each further
    /// round (up to ``SearchQuery/Limits/includeRounds``) applies the `:iterate` ones to what the
    /// round before added. Every resource included is one the caller may see, each once.
    private func included(for matches: [StoredResource], query: SearchQuery, access: RecordAccess) async throws -> [StoredResource] {
        guard !matches.isEmpty, !query.includes.isEmpty || !query.reverseIncludes.isEmpty else { return [] }
        var seen = Set(matches.map { "\($0.type.rawValue)/\($0.id)" })
        var included: [StoredResource] = []
        var frontier = matches
        for round in 0...SearchQuery.Limits.includeRounds where !frontier.isEmpty && included.count < Self.maximumIncluded {
            let includes = query.includes.filter { round == 0 || $0.iterate }
            let reverseIncludes = query.reverseIncludes.filter { round == 0 || $0.iterate }
            guard !includes.isEmpty || !reverseIncludes.isEmpty else { break }
            var targets: [(String, String)] = []
            for (type, resources) in Dictionary(grouping: frontier, by: \.type) {
                let ids = resources.map(\.id)
                for include in includes where include.source == type {
                    targets += try await self.references(from: type, ids: ids, include: include)
                }
                for include in reverseIncludes where include.target == nil || include.target == type {
                    targets += try await self.referrers(to: type, ids: ids, include: include, access: access)
                }
            }
            var added: [StoredResource] = []
            for (targetType, targetID) in targets where seen.insert("\(targetType)/\(targetID)").inserted {
                guard included.count + added.count < Self.maximumIncluded, let type = ResourceType(rawValue: targetType) else { continue }
                // A target that is gone, never stored here, or not the caller's to see is simply
                // not included.
                if let resource = try? await self.read(type, id: targetID, access: access) { added.append(resource) }
            }
            included += added
            frontier = added
        }
        return included
    }

    /// What the resources `type/ids` point at through `include`'s parameter.
    private func references(from type: ResourceType, ids: [String], include: SearchQuery.Include) async throws -> [(String, String)] {
        var sql = SQLBuilder()
        let targetType = sql.bind(include.target?.rawValue)
        let text = """
            SELECT DISTINCT target_type, target_id FROM search_reference
            WHERE type = \(sql.bind(type.rawValue)) AND id = ANY(\(sql.bind(ids))) AND param = \(sql.bind(include.param))
              AND (\(targetType)::text IS NULL OR target_type = \(targetType))
            LIMIT \(sql.bind(Self.maximumIncluded))
            """
        return try await self.typeAndIDs(sql.query(text), operation: "include")
    }

    /// The resources of `include`'s source type, visible to the caller, that point at
    /// `type/ids` through its parameter.
    private func referrers(to type: ResourceType, ids: [String], include: SearchQuery.Include, access: RecordAccess) async throws -> [(
        String, String
    )] {
        var sql = SQLBuilder()
        let text = """
            SELECT DISTINCT f.type, f.id FROM search_reference f
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = f.type AND r.id = f.id AND NOT r.deleted
            WHERE f.type = \(sql.bind(include.source.rawValue)) AND f.param = \(sql.bind(include.param)) AND f.target_type = \(sql.bind(type.rawValue))
              AND f.target_id = ANY(\(sql.bind(ids)))
            LIMIT \(sql.bind(Self.maximumIncluded))
            """
        return try await self.typeAndIDs(sql.query(text), operation: "revinclude")
    }

    /// The `(type, id)` rows `statement` selects.
    private func typeAndIDs(_ statement: PostgresQuery, operation: String) async throws -> [(String, String)] {
        let logger = self.logger
        return try await self.database.withConnection(operation) { connection in
            let rows = try await connection.query(statement, logger: logger)
            var found: [(String, String)] = []
            for try await row in rows.decode((String, String).self) { found.append(row) }
            return found
        }
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
        return "k" + Hex.string(key.utf8) + ":" + id
    }

    static func parameterCursor(_ cursor: String) throws(ResourceError) -> (key: String?, id: String) {
        let parts = cursor.split(separator: ":", maxSplits: 1).map(String.init)
        let bad = ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
        guard parts.count == 2 else { throw bad }
        if parts[0] == "n" { return (nil, parts[1]) }
        guard parts[0].hasPrefix("k"), let key = Self.hexDecoded(parts[0].dropFirst()) else { throw bad }
        return (key, parts[1])
    }
}
