import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Extracts a resource's search values and writes them to the index tables (docs/storage.md).
///
/// Identifying strings become blind indexes of the keys ``SearchKeys`` names; identifier values
/// are blind-indexed whole. Codes, dates and references are stored as they are.
struct SearchIndexer: Sendable {
    /// Computes blind indexes, many at once, in a domain (``domain(_:_:)``): the key store's,
    /// for the suite in force.
    let blindIndexes: @Sendable ([String], BlindIndex.Normalization, String) async throws -> [[UInt8]]

    /// The blind-index domain of a search parameter: each has, in effect, its own key.
    static func domain(_ type: String, _ param: String) -> String {
        "\(type).\(param)"
    }

    struct Entries: Sendable {
        var tokens: [(param: String, system: String, code: String)] = []
        var strings: [(param: String, value: [UInt8])] = []
        var references: [(param: String, targetType: String, targetID: String)] = []
        var dates: [(param: String, low: Date, high: Date)] = []
        var quantities: [(param: String, value: String, system: String, code: String)] = []
        var composites: [Composite] = []
    }

    /// One row of `search_composite`: the first component's token and the second component as
    /// its kind keeps it (a token or a string's blind key in `valueCode`; a quantity's number
    /// and unit; a date's range).
    struct Composite: Sendable {
        var param: String
        var system: String
        var code: String
        var valueSystem = ""
        var valueCode = ""
        var number: String?
        var low: Date?
        var high: Date?
    }

    func entries(for resource: JSONObject, type: ResourceType) async throws -> Entries {
        var entries = Entries()
        for parameter in type.searchParameters {
            if parameter.kind == .composite {
                entries.composites += try await self.composites(of: resource, type: type, parameter: parameter)
                continue
            }
            let values = SearchValues.values(of: resource, for: parameter)
            for value in values {
                switch parameter.kind {
                case .token:
                    for (system, code) in SearchValues.tokens(of: value) {
                        let stored = parameter.isBlind ? try await self.blindToken(code, domain: Self.domain(type.rawValue, parameter.name)) : code
                        entries.tokens.append((parameter.name, system, stored))
                    }
                case .string:
                    guard let text = value.stringValue else { continue }
                    let domain = Self.domain(type.rawValue, parameter.name)
                    for key in try await self.stringKeys(text, substrings: parameter.indexesSubstrings, domain: domain) {
                        entries.strings.append((parameter.name, key))
                    }
                case .reference:
                    guard let reference = value.objectValue?["reference"]?.stringValue else { continue }
                    let parts = reference.split(separator: "/")
                    guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history") else { continue }
                    if let targets = parameter.targets, !targets.contains(String(parts[0])) { continue }
                    entries.references.append((parameter.name, String(parts[0]), String(parts[1])))
                case .date:
                    if let range = SearchValues.dateRange(of: value) {
                        entries.dates.append((parameter.name, range.low, range.high))
                    }
                case .uri:
                    guard let uri = value.stringValue else { continue }
                    let stored = parameter.isBlind ? try await self.blindToken(uri, domain: Self.domain(type.rawValue, parameter.name)) : uri
                    entries.tokens.append((parameter.name, "", stored))
                case .quantity:
                    guard let quantity = SearchValues.quantity(of: value) else { continue }
                    entries.quantities.append((parameter.name, quantity.number, quantity.system, quantity.code))
                case .composite:
                    continue
                }
            }
        }
        let rows =
            entries.tokens.count + entries.strings.count + entries.references.count + entries.dates.count + entries.quantities.count
            + entries.composites.count
        guard rows <= Self.maximumRows else {
            throw ResourceError(
                .unprocessable, .tooCostly,
                "the resource would need \(rows) search index rows; a resource may have at most \(Self.maximumRows) (fewer repeated codings or values)"
            )
        }
        return entries
    }

    /// Search index rows one resource may need. Rows grow with repeated elements (a composite
    /// with every pair of a code's and a value's codings), so a small crafted resource could
    /// otherwise cost millions of rows and the memory to build them.
    static let maximumRows = 10_000
    /// Pairs one element of a composite parameter may give, after duplicates are removed.
    static let maximumCompositePairs = 100

    /// The rows of a composite parameter: one per pair of components within one element (and,
    /// for a string, per blind key of the string).
    func composites(of resource: JSONObject, type: ResourceType, parameter: SearchParameter) async throws -> [Composite] {
        var rows: [Composite] = []
        var seen = Set<[String]>()
        for (first, second) in SearchValues.compositePairs(of: resource, for: parameter) {
            // The second component's forms, computed once whatever the codes beside it.
            func form(_ change: (inout Composite) -> Void) -> Composite {
                var row = Composite(param: parameter.name, system: "", code: "")
                change(&row)
                return row
            }
            let seconds: [Composite]
            switch parameter.components[1].kind {
            case .token:
                seconds = SearchValues.tokens(of: second).map { token in form { ($0.valueSystem, $0.valueCode) = (token.system, token.code) } }
            case .quantity:
                seconds =
                    SearchValues.quantity(of: second).map { quantity in
                        [form { ($0.number, $0.valueSystem, $0.valueCode) = (quantity.number, quantity.system, quantity.code) }]
                    } ?? []
            case .date:
                seconds = SearchValues.dateRange(of: second).map { range in [form { ($0.low, $0.high) = (range.low, range.high) }] } ?? []
            case .string:
                guard let text = second.stringValue else { continue }
                let keys = try await self.stringKeys(text, substrings: false, domain: Self.domain(type.rawValue, parameter.name))
                seconds = keys.map { key in form { $0.valueCode = Self.hex(key) } }
            case .reference, .uri, .composite:
                continue
            }
            var pairs = 0
            for (system, code) in SearchValues.tokens(of: first) {
                for var row in seconds {
                    (row.system, row.code) = (system, code)
                    let key = [
                        row.system, row.code, row.valueSystem, row.valueCode, row.number ?? "", row.low.map(Self.timestamp) ?? "",
                        row.high.map(Self.timestamp) ?? "",
                    ]
                    guard seen.insert(key).inserted else { continue }
                    pairs += 1
                    guard pairs <= Self.maximumCompositePairs else {
                        throw ResourceError(
                            .unprocessable, .tooCostly,
                            "\(parameter.name): an element pairs more than \(Self.maximumCompositePairs) codes and values (fewer repeated codings)")
                    }
                    rows.append(row)
                }
            }
        }
        return rows
    }

    static func hex(_ bytes: [UInt8]) -> String {
        Hex.string(bytes)
    }

    /// The blind index (hex) of an identifier value, as stored in `search_token.code`.
    func blindToken(_ value: String, domain: String) async throws -> String {
        Self.hex(try await self.blindIndexes([value], .identifier, domain)[0])
    }

    /// The blind indexes under which a string is found: ``SearchKeys/indexTexts(of:substrings:)``,
    /// each blind-indexed in `domain`.
    func stringKeys(_ text: String, substrings: Bool, domain: String) async throws -> [[UInt8]] {
        let texts = SearchKeys.indexTexts(of: text, substrings: substrings)
        guard !texts.isEmpty else { return [] }
        return try await self.blindIndexes(texts, .exact, domain)
    }

    /// One resource's index rows, for ``write(_:replacing:on:logger:)``.
    struct Row: Sendable {
        var type: String
        var id: String
        /// nil: the resource has none (deleted).
        var entries: Entries?
    }

    /// Writes the index rows of many resources inside the caller's transaction: at most two
    /// statements whatever the number of resources and rows (the values travel as arrays).
    ///
    /// - Parameter replacing: Whether the resources may have rows already (updates, deletes),
    ///   which are removed first; a create has none.
    static func write(_ rows: [Row], replacing: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        if replacing {
            var sql = SQLBuilder()
            let types = sql.bind(rows.map(\.type))
            let ids = sql.bind(rows.map(\.id))
            let deletes = Self.tables.enumerated().map { index, table in
                "d\(index) AS (DELETE FROM \(table) WHERE (type, id) IN (SELECT * FROM unnest(\(types)::text[], \(ids)::text[])))"
            }
            try await connection.run(
                sql.query("WITH " + deletes.joined(separator: ",\n") + "\nSELECT 1"), logger: logger)
        }
        var sql = SQLBuilder()
        let inserts = Self.insertions(rows, sql: &sql)
        guard !inserts.isEmpty else { return }
        try await connection.run(
            sql.query("WITH " + inserts.joined(separator: ",\n") + "\nSELECT 1"), logger: logger)
    }

    static let tables = ["search_token", "search_string", "search_reference", "search_date", "search_quantity", "search_composite"]

    /// The INSERTs of `rows`' index entries as CTE members (`i0 AS (INSERT …)`), one per table
    /// that gets rows, for a caller to run in one statement (with other writes, for a create).
    static func insertions(_ rows: [Row], sql: inout SQLBuilder) -> [String] {
        var tokens: (types: [String], ids: [String], params: [String], systems: [String], codes: [String]) = ([], [], [], [], [])
        var strings: (types: [String], ids: [String], params: [String], values: [ByteBuffer]) = ([], [], [], [])
        var references: (types: [String], ids: [String], params: [String], targetTypes: [String], targetIDs: [String]) = ([], [], [], [], [])
        var quantities: (types: [String], ids: [String], params: [String], values: [String], systems: [String], codes: [String]) = (
            [], [], [], [], [], []
        )
        var dates: (types: [String], ids: [String], params: [String], lows: [Date], highs: [Date]) = ([], [], [], [], [])
        // Composites travel as text columns (a missing number or date as ''), cast in SQL.
        var composites: [[String]] = Array(repeating: [], count: 10)
        for row in rows {
            guard let entries = row.entries else { continue }
            for token in entries.tokens {
                tokens.types.append(row.type)
                tokens.ids.append(row.id)
                tokens.params.append(token.param)
                tokens.systems.append(token.system)
                tokens.codes.append(token.code)
            }
            for string in entries.strings {
                strings.types.append(row.type)
                strings.ids.append(row.id)
                strings.params.append(string.param)
                strings.values.append(ByteBuffer(bytes: string.value))
            }
            for reference in entries.references {
                references.types.append(row.type)
                references.ids.append(row.id)
                references.params.append(reference.param)
                references.targetTypes.append(reference.targetType)
                references.targetIDs.append(reference.targetID)
            }
            for quantity in entries.quantities {
                quantities.types.append(row.type)
                quantities.ids.append(row.id)
                quantities.params.append(quantity.param)
                quantities.values.append(quantity.value)
                quantities.systems.append(quantity.system)
                quantities.codes.append(quantity.code)
            }
            for composite in entries.composites {
                let columns = [
                    row.type, row.id, composite.param, composite.system, composite.code, composite.valueSystem, composite.valueCode,
                    composite.number ?? "", composite.low.map(Self.timestamp) ?? "", composite.high.map(Self.timestamp) ?? "",
                ]
                for (index, column) in columns.enumerated() { composites[index].append(column) }
            }
            for date in entries.dates {
                dates.types.append(row.type)
                dates.ids.append(row.id)
                dates.params.append(date.param)
                dates.lows.append(date.low)
                dates.highs.append(date.high)
            }
        }
        var inserts: [String] = []
        if !tokens.ids.isEmpty {
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_token (type, id, param, system, code)
                SELECT * FROM unnest(\(sql.bind(tokens.types))::text[], \(sql.bind(tokens.ids))::text[], \(sql.bind(tokens.params))::text[], \(sql.bind(tokens.systems))::text[], \(sql.bind(tokens.codes))::text[]))
                """)
        }
        if !strings.ids.isEmpty {
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_string (type, id, param, value)
                SELECT * FROM unnest(\(sql.bind(strings.types))::text[], \(sql.bind(strings.ids))::text[], \(sql.bind(strings.params))::text[], \(sql.bind(strings.values))::bytea[]))
                """)
        }
        if !references.ids.isEmpty {
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_reference (type, id, param, target_type, target_id)
                SELECT * FROM unnest(\(sql.bind(references.types))::text[], \(sql.bind(references.ids))::text[], \(sql.bind(references.params))::text[], \(sql.bind(references.targetTypes))::text[], \(sql.bind(references.targetIDs))::text[]))
                """)
        }
        if !quantities.ids.isEmpty {
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_quantity (type, id, param, value, system, code)
                SELECT * FROM unnest(\(sql.bind(quantities.types))::text[], \(sql.bind(quantities.ids))::text[], \(sql.bind(quantities.params))::text[], \(sql.bind(quantities.values))::numeric[], \(sql.bind(quantities.systems))::text[], \(sql.bind(quantities.codes))::text[]))
                """)
        }
        if !dates.ids.isEmpty {
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_date (type, id, param, low, high)
                SELECT * FROM unnest(\(sql.bind(dates.types))::text[], \(sql.bind(dates.ids))::text[], \(sql.bind(dates.params))::text[], \(sql.bind(dates.lows))::timestamptz[], \(sql.bind(dates.highs))::timestamptz[]))
                """)
        }
        if !composites[0].isEmpty {
            let c = composites.map { sql.bind($0) }
            inserts.append(
                """
                i\(inserts.count) AS (INSERT INTO search_composite (type, id, param, system, code, value_system, value_code, value_number, value_low, value_high)
                SELECT t, i, p, s, c, vs, vc, NULLIF(vn, '')::numeric, to_timestamp(NULLIF(vl, '')::float8), to_timestamp(NULLIF(vh, '')::float8)
                FROM unnest(\(c[0])::text[], \(c[1])::text[], \(c[2])::text[], \(c[3])::text[], \(c[4])::text[], \(c[5])::text[], \(c[6])::text[], \(c[7])::text[], \(c[8])::text[], \(c[9])::text[]) AS u(t, i, p, s, c, vs, vc, vn, vl, vh))
                """)
        }
        return inserts
    }

    /// A moment as seconds since 1970 (`to_timestamp` reads them to the microsecond); an open
    /// end of a period as PostgreSQL's infinities.
    static func timestamp(_ date: Date) -> String {
        if date == .distantPast { return "-infinity" }
        if date == .distantFuture { return "infinity" }
        return String(date.timeIntervalSince1970)
    }
}
