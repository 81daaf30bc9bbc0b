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
    }

    func entries(for resource: JSONObject, type: ResourceType) async throws -> Entries {
        var entries = Entries()
        for parameter in type.searchParameters {
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
                    for key in try await self.stringKeys(text, domain: Self.domain(type.rawValue, parameter.name)) {
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
                    entries.tokens.append((parameter.name, "", uri))
                case .quantity:
                    guard let quantity = value.objectValue, let number = quantity["value"]?.numberText else { continue }
                    let code = quantity["code"]?.stringValue ?? quantity["unit"]?.stringValue ?? ""
                    entries.quantities.append((parameter.name, number, quantity["system"]?.stringValue ?? "", code))
                }
            }
        }
        return entries
    }

    /// The blind index (hex) of an identifier value, as stored in `search_token.code`.
    func blindToken(_ value: String, domain: String) async throws -> String {
        try await self.blindIndexes([value], .identifier, domain)[0].map { String(format: "%02x", $0) }.joined()
    }

    /// The blind indexes under which a name is found: ``SearchKeys/indexTexts(of:)``, each
    /// blind-indexed in `domain`.
    func stringKeys(_ text: String, domain: String) async throws -> [[UInt8]] {
        let texts = SearchKeys.indexTexts(of: text)
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

    static let tables = ["search_token", "search_string", "search_reference", "search_date", "search_quantity"]

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
        return inserts
    }
}
