import Foundation
import HubFHIR
import HubKeys
import HubStorage
import NIOCore
import PostgresNIO

extension PostgresResourceStore {
    /// One page of ``reprocess(after:limit:)``.
    public struct ReprocessPage: Sendable, Equatable {
        /// Current records read.
        public var examined = 0
        /// Records whose patient changed under today's classification (`Type/id`): their
        /// `patient_id` now says what the compartment definition says.
        public var reclassified: [String] = []
        /// Records today's classification refuses (`Type/id`: the element it refuses): left as
        /// they are, for the operator to correct (a new version that passes, or a delete).
        public var refused: [String: String] = [:]
        /// Where the next page starts; nil after the last.
        public var next: String?
    }

    /// Re-derives what the store keeps beside each current record from the record itself:
    /// its search index rows (after a change of how they are computed, such as the per-parameter
    /// blind indexes) and its patient (after a change of the classification, such as contained
    /// resources counting). `hub records reprocess` runs it page by page; each page is one
    /// transaction, and running it twice changes nothing the second time.
    ///
    /// A maintenance job of the operator's: it reads every record, whatever organization wrote
    /// it, and returns nothing of their contents.
    public func reprocess(after cursor: String?, limit: Int) async throws -> ReprocessPage {
        let limit = max(1, min(limit, 1_000))
        let position = cursor.map { $0.split(separator: "/", maxSplits: 1).map(String.init) } ?? ["", ""]
        guard position.count == 2 else { throw ResourceError(.invalid, .invalid, "the cursor is Type/id") }
        var sql = SQLBuilder()
        let text = """
            SELECT r.type, r.id, r.version, r.patient_id, v.body FROM resources r
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            WHERE NOT r.deleted AND (r.type, r.id) > (\(sql.bind(position[0])), \(sql.bind(position[1])))
            ORDER BY r.type, r.id LIMIT \(sql.bind(limit))
            """
        let statement = sql.query(text)
        let logger = self.logger
        let rows = try await self.database.withConnection("list records to reprocess") { connection in
            var found: [(String, String, Int, String?, ByteBuffer?)] = []
            let rows = try await connection.query(statement, logger: logger)
            for try await row in rows.decode((String, String, Int, String?, ByteBuffer?).self) { found.append(row) }
            return found
        }
        var page = ReprocessPage(examined: rows.count, next: rows.count == limit ? rows.last.map { "\($0.0)/\($0.1)" } : nil)
        var indexRows: [SearchIndexer.Row] = []
        var patients: [(type: String, id: String, patient: String?)] = []
        for (typeName, id, version, patient, body) in rows {
            guard let type = ResourceType(rawValue: typeName), let body else { continue }
            let plaintext = try await self.ring.open(Array(buffer: body), context: Self.context(type, id, version))
            guard let resource = (try? JSONParser.parse(plaintext))?.objectValue else { continue }
            indexRows.append(SearchIndexer.Row(type: typeName, id: id, entries: try await self.indexer.entries(for: resource, type: type)))
            do {
                let classified = try PatientCompartment.patient(of: self.references.canonicalize(resource), type: type, id: id)
                if classified != patient {
                    patients.append((typeName, id, classified))
                    page.reclassified.append("\(typeName)/\(id)")
                }
            } catch {
                // The element only: the message may quote a reference, and references may
                // carry identifiers.
                page.refused["\(typeName)/\(id)"] = error.element
            }
        }
        guard !indexRows.isEmpty else { return page }
        let changes = patients
        let written = indexRows
        try await self.database.withTransaction("reprocess records") { connection in
            try await SearchIndexer.write(written, replacing: true, on: connection, logger: logger)
            for change in changes {
                try await connection.run(
                    "UPDATE resources SET patient_id = \(change.patient) WHERE type = \(change.type) AND id = \(change.id)",
                    logger: logger
                )
            }
        }
        return page
    }
}
