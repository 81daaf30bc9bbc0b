import Foundation
import HubCrypto
import HubFHIR
import HubKeys
public import HubStorage
import Logging
import NIOCore
import PostgresNIO

extension PostgresResourceStore {
    /// The format of the rows derived from records that this code writes and reads
    /// (`hub_instance.records_format`, migrations 0012, 0015 and 0018): 2 — blind indexes per search
    /// parameter, contained resources classified; 3 — `:exact` keys as written, marked keys,
    /// `identifier` on every type R4 gives it, `_tag`/`_security`/`_profile` on every type;
    /// 4 — every search parameter R4 defines for the type (migration 0018).
    public static let recordsFormat = 4

    /// The format the stored records were derived under.
    public static func storedRecordsFormat(_ database: Database) async throws -> Int {
        try await database.withConnection("read records format") { connection in
            for try await format in try await connection.query("SELECT records_format FROM hub_instance", logger: Logger(label: "hub.resources"))
                .decode(Int.self)
            {
                return format
            }
            return Self.recordsFormat
        }
    }

    /// Records that a full pass of ``reprocess(after:limit:)`` completed: the hub may serve.
    public func markReprocessed() async throws {
        try await self.database.withConnection("mark records reprocessed") { connection in
            try await connection.run("UPDATE hub_instance SET records_format = \(Self.recordsFormat)", logger: self.logger)
        }
    }

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
        /// Records whose patient was crypto-erased (unreadable): skipped.
        public var erased = 0
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
        var versions: [String: Int] = [:]
        for (typeName, id, version, patient, body) in rows {
            guard let type = ResourceType(rawValue: typeName), let body else { continue }
            let plaintext: [UInt8]
            do {
                plaintext = try await self.ring.open(Array(buffer: body), context: Self.context(type, id, version))
            } catch let error as CryptographyError where error.code == .erased {
                page.erased += 1
                continue
            }
            guard let resource = (try? JSONParser.parse(plaintext))?.objectValue else { continue }
            let entries: SearchIndexer.Entries
            do {
                entries = try await self.indexer.entries(for: resource, type: type)
            } catch let error as ResourceError {
                // Beyond what today's index allows one record (its old rows stay).
                page.refused["\(typeName)/\(id)"] = "\(typeName) (\(error.issueType.rawValue): its search index rows)"
                continue
            }
            versions["\(typeName)/\(id)"] = version
            indexRows.append(SearchIndexer.Row(type: typeName, id: id, entries: entries))
            do {
                let classified = try PatientCompartment.patient(of: self.classifier.references.canonicalize(resource), type: type, id: id)
                if classified == nil, patient != nil {
                    // The store never takes a record out of its patient's compartment.
                    page.refused["\(typeName)/\(id)"] = "\(typeName) (it would name no patient)"
                } else if classified != patient {
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
        let keys = Array(versions.keys)
        let read = versions
        let candidates = indexRows
        let proposed = patients
        try await self.database.withTransaction("reprocess records") { connection in
            // Only records still at the version read: one written meanwhile was indexed and
            // classified by its own write.
            var lock = SQLBuilder()
            let text = "SELECT type || '/' || id, version FROM resources WHERE (type || '/' || id) = ANY(\(lock.bind(keys))) FOR UPDATE"
            var current: [String: Int] = [:]
            for try await (key, version) in try await connection.query(lock.query(text), logger: logger).decode((String, Int).self) {
                current[key] = version
            }
            let unchanged = { (type: String, id: String) in current["\(type)/\(id)"] == read["\(type)/\(id)"] }
            let written = candidates.filter { unchanged($0.type, $0.id) }
            let changes = proposed.filter { unchanged($0.type, $0.id) }
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
