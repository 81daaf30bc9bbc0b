import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import NIOCore

/// Search clauses as SQL conditions (FHIR R4 §3.1.1): tokens, blind-indexed strings, references
/// and chains, dates and quantities with their prefixes — each value a bound parameter.
extension PostgresResourceStore {
    /// The SQL condition for one clause on the resources row `alias` (`r`, or `c` inside a chain)
    /// of the type bound as `type`. A chain's inner rows come from what `access` sees too: a chain
    /// through an invisible record must not answer questions about it.
    func condition(
        _ clause: SearchQuery.Clause, type: String, typeName: String, access: RecordAccess, alias r: String = "r", sql: inout SQLBuilder
    ) async throws -> String {
        switch clause {
        case .id(let ids):
            // One id as a scalar: a prepared search (``namesOneRecord``) then keeps its generic
            // plan, which PostgreSQL will not for an array it cannot see into.
            if ids.count == 1 { return "\(r).id = \(sql.bind(ids[0]))" }
            return "\(r).id = ANY(\(sql.bind(ids)))"
        case .publisher(let organizations):
            return "\(r).organization = ANY(\(sql.bind(organizations)))"
        case .lastUpdated(let values):
            let alternatives = values.map { prefix, range in
                Self.dateCondition(prefix, low: "\(r).last_updated", high: "\(r).last_updated + interval '1 millisecond'", range: range, sql: &sql)
            }
            return "(" + alternatives.joined(separator: " OR ") + ")"
        case .token(let param, let values, let negated, let isBlind):
            let stored = try await self.storedTokens(param, values, isBlind: isBlind, typeName: typeName)
            let condition = Self.tokenCondition(param, stored, type: type, sql: &sql)
            // `:not` as a correlated NOT EXISTS: PostgreSQL checks each candidate's own rows by
            // (type, id), where NOT IN would first gather every resource with the code (tens of
            // thousands for a common test) to rule a handful out.
            return negated
                ? "NOT EXISTS (SELECT 1 FROM search_token t WHERE t.id = \(r).id AND \(condition))"
                : "\(r).id IN (SELECT t.id FROM search_token t WHERE \(condition))"
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
                Self.quantityCondition(prefix, number, system, code, columns: ("q.value", "q.system", "q.code"), sql: &sql)
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
        case .reverseChain(let source, let param, let inner):
            let sourceType = sql.bind(source.rawValue)
            let innerCondition = try await self.condition(inner, type: sourceType, typeName: source.rawValue, access: access, alias: "h", sql: &sql)
            return """
                \(r).id IN (SELECT f.target_id FROM search_reference f WHERE f.type = \(sourceType) AND f.param = \(sql.bind(param)) AND f.target_type = \(type)
                  AND f.id IN (SELECT h.id FROM \(access.visibleResources("h", sql: &sql)) WHERE h.type = \(sourceType) AND NOT h.deleted AND \(innerCondition)))
                """
        case .date(let param, let values):
            let alternatives = values.map { prefix, range in
                Self.dateCondition(prefix, low: "d.low", high: "d.high", range: range, sql: &sql)
            }
            return """
                \(r).id IN (SELECT d.id FROM search_date d WHERE d.type = \(type) AND d.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR "))))
                """
        case .missing(let param, let kind, let missing):
            let table =
                switch kind {
                case .token, .uri: "search_token"
                case .string: "search_string"
                case .reference: "search_reference"
                case .date: "search_date"
                case .quantity: "search_quantity"
                case .composite: "search_composite"
                }
            // Correlated on the candidate's (type, id): each table's resource index answers it.
            return
                "\(missing ? "NOT " : "")EXISTS (SELECT 1 FROM \(table) x WHERE x.type = \(type) AND x.id = \(r).id AND x.param = \(sql.bind(param)))"
        case .composite(let param, let values):
            var alternatives: [String] = []
            for value in values {
                var parts: [String] = []
                if let system = value.system { parts.append("m.system = \(sql.bind(system))") }
                if let code = value.code { parts.append("m.code = \(sql.bind(code))") }
                switch value.second {
                case .token(let system, let code):
                    if let system { parts.append("m.value_system = \(sql.bind(system))") }
                    if let code { parts.append("m.value_code = \(sql.bind(code))") }
                case .quantity(let prefix, let number, let system, let code):
                    parts.append(
                        Self.quantityCondition(prefix, number, system, code, columns: ("m.value_number", "m.value_system", "m.value_code"), sql: &sql)
                    )
                case .date(let prefix, let range):
                    parts.append(Self.dateCondition(prefix, low: "m.value_low", high: "m.value_high", range: range, sql: &sql))
                case .string(let text, let match):
                    let texts = SearchKeys.searchTexts(text, match: match).first ?? []
                    let keys = try await self.indexer.blindIndexes(texts, .exact, SearchIndexer.domain(typeName, param)).map(SearchIndexer.hex)
                    parts.append("m.value_code = ANY(\(sql.bind(keys)))")
                }
                alternatives.append("(" + parts.joined(separator: " AND ") + ")")
            }
            return """
                \(r).id IN (SELECT m.id FROM search_composite m WHERE m.type = \(type) AND m.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR "))))
                """
        }
    }

    /// A token clause's values with their codes as `search_token` holds them: blind indexes for
    /// blind parameters, as given otherwise.
    func storedTokens(
        _ param: String, _ values: [(system: String?, code: String?)], isBlind: Bool, typeName: String
    ) async throws -> [(system: String?, code: String?)] {
        guard isBlind else { return values }
        var stored: [(system: String?, code: String?)] = []
        for (system, code) in values {
            stored.append((system, try await code.asyncMap { try await self.indexer.blindToken($0, domain: SearchIndexer.domain(typeName, param)) }))
        }
        return stored
    }

    /// The rows of `search_token t` a token clause matches (without `:not`), from its values as
    /// stored (``storedTokens(_:_:isBlind:typeName:)``).
    static func tokenCondition(_ param: String, _ values: [(system: String?, code: String?)], type: String, sql: inout SQLBuilder) -> String {
        var alternatives: [String] = []
        var pairs: [(String, String)] = []
        var codes: [String] = []
        var systems: [String] = []
        for (system, stored) in values {
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
        return "t.type = \(type) AND t.param = \(sql.bind(param)) AND (\(alternatives.joined(separator: " OR ")))"
    }

    /// A quantity comparison (R4 §3.1.1.4.5) on the value, system and code columns given: `eq`
    /// is the search value's precision range, `ap` within 10%.
    static func quantityCondition(
        _ prefix: SearchQuery.DatePrefix, _ number: String, _ system: String?, _ code: String?,
        columns: (value: String, system: String, code: String),
        sql: inout SQLBuilder
    ) -> String {
        let column = columns.value
        let value = sql.bind(number)
        let half = sql.bind(Self.precisionHalf(number))
        let within = "\(column) >= \(value)::numeric - \(half)::numeric AND \(column) < \(value)::numeric + \(half)::numeric"
        var parts: [String]
        switch prefix {
        case .eq: parts = [within]
        case .ne: parts = ["NOT (\(within))"]
        case .gt, .sa: parts = ["\(column) > \(value)::numeric"]
        case .lt, .eb: parts = ["\(column) < \(value)::numeric"]
        case .ap:
            parts = ["\(column) BETWEEN \(value)::numeric - abs(\(value)::numeric) * 0.1 AND \(value)::numeric + abs(\(value)::numeric) * 0.1"]
        case .ge: parts = ["\(column) >= \(value)::numeric"]
        case .le: parts = ["\(column) <= \(value)::numeric"]
        }
        if let system { parts.append("\(columns.system) = \(sql.bind(system))") }
        if let code { parts.append("\(columns.code) = \(sql.bind(code))") }
        return "(" + parts.joined(separator: " AND ") + ")"
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

extension Optional {
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
