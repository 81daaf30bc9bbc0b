public import Foundation
import HubCrypto
public import HubAudit
public import HubFHIR
public import HubKeys
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// The resource store on PostgreSQL: versions in `resource_versions`, the current one named in
/// `resources` (docs/storage.md).
///
/// Each version's JSON is sealed with the data key of the patient it belongs to (its patient
/// compartment), or with a key of its own for resources outside any (Organization, Practitioner),
/// under the context `Type/id/version`; crypto-erasing a patient makes every version of every
/// resource of theirs unreadable.
public struct PostgresResourceStore: ResourceStore {
    let database: Database
    let ring: DataKeyRing
    let logger: Logger
    let indexer: SearchIndexer
    /// Identifier systems whose values identify one Patient (the resident ID card): a second
    /// Patient with the same value is refused.
    let uniquePatientIdentifierSystems: Set<String>

    public init(database: Database, ring: DataKeyRing, logger: Logger, uniquePatientIdentifierSystems: Set<String> = []) {
        self.database = database
        self.ring = ring
        self.logger = logger
        self.uniquePatientIdentifierSystems = uniquePatientIdentifierSystems
        let keyStore = ring.keyStore
        let suite = ring.suite
        self.indexer = SearchIndexer { values, normalization in
            try await keyStore.blindIndexes(values, normalization: normalization, suite: suite)
        }
    }

    /// The encrypted column that `hub keys migrate` re-encrypts.
    public static func encryptedColumn() throws -> EncryptedColumn {
        try EncryptedColumn(table: "resource_versions", keyColumn: "row_key", subjectColumn: "subject", valueColumn: "body") { rowKey, _ in
            Array(rowKey.utf8)
        }
    }

    public func create(_ resource: JSONObject, type: ResourceType, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.create(type, id: nil, resource)], audit: audit)[0]
    }

    /// Applies writes atomically, in order: all commit or none (a transaction Bundle).
    ///
    /// Encryption and blind indexes need the key store, so each write is prepared first, outside
    /// the database transaction; the transaction then only writes rows (and seals updates, whose
    /// version number it decides, with data keys already cached). The audit records of the
    /// writes are queued in the same transaction (in the same statement, for creates).
    public func transaction(_ operations: [WriteOperation], audit: AuditContext) async throws -> [StoredResource] {
        // Ids first, so every data key the writes need is fetched or made in one go.
        let operations = operations.map { operation -> WriteOperation in
            guard case .create(let type, nil, let resource) = operation else { return operation }
            return .create(type, id: UUID().uuidString.lowercased(), resource)
        }
        try await self.ring.prepareDataKeys(for: operations.compactMap(Self.subject(of:)))
        var prepared: [PreparedWrite] = []
        for operation in operations {
            prepared.append(try await self.prepare(operation))
        }
        let ring = self.ring
        let logger = self.logger
        let writes = prepared
        let recordAudit = Self.auditRecords(for: operations, audit: audit)
        // Creates with nothing to check are one statement: atomic without BEGIN and COMMIT.
        if writes.allSatisfy({ write in
            guard case .create = write.kind else { return false }
            return write.unique.isEmpty
        }) {
            let created: [StoredResource] = writes.compactMap { write in
                guard case .create(let stored, _) = write.kind else { return nil }
                return stored
            }
            let records = recordAudit(created)
            return try await self.database.withConnection("write resources") { connection in
                try await Self.applyCreates(writes, auditing: records, on: connection, logger: logger)
            }
        }
        return try await self.database.withTransaction("write resources") { connection in
            var results: [StoredResource] = []
            var index = 0
            while index < writes.count {
                // Consecutive creates go in together: a few statements for the whole run.
                var end = index
                while end < writes.count, case .create = writes[end].kind { end += 1 }
                do {
                    if end > index {
                        results += try await Self.applyCreates(Array(writes[index..<end]), auditing: [], on: connection, logger: logger)
                        index = end
                    } else {
                        results.append(try await Self.apply(writes[index], ring: ring, on: connection, logger: logger))
                        index += 1
                    }
                } catch let error as ResourceError where writes.count > 1 {
                    var located = error
                    if let entry = error.entry.map({ index + $0 }) ?? (end > index ? nil : index) {
                        located.diagnostics = "entry \(entry): \(error.diagnostics)"
                    }
                    located.entry = nil
                    throw located
                }
            }
            try await AuditLog.enqueue(recordAudit(results), on: connection, logger: logger)
            return results
        }
    }

    /// How the results of `operations` are audited: one record per patient written to.
    static func auditRecords(for operations: [WriteOperation], audit: AuditContext) -> @Sendable ([StoredResource]) -> [AuditRecord] {
        let actions = Set(operations.map { operation -> AuditRecord.Action in
            switch operation {
            case .create: .create
            case .update: .update
            case .delete: .delete
            }
        })
        let action = actions.count == 1 ? actions.first ?? .execute : .execute
        let types = Set(operations.map { operation -> ResourceType in
            switch operation {
            case .create(let type, _, _), .update(let type, _, _, _), .delete(let type, _): type
            }
        })
        let status = action == .create ? 201 : action == .delete ? 204 : 200
        return { results in
            AuditRecord.records(
                of: results,
                action: action,
                interaction: audit.interaction,
                status: status,
                caller: audit.caller,
                resourceType: types.count == 1 ? types.first?.rawValue : nil
            )
        }
    }

    /// Whose data key a write will use (nil for a delete, which seals nothing).
    static func subject(of operation: WriteOperation) -> String? {
        switch operation {
        case .create(let type, let id?, let resource), .update(let type, let id, let resource, _):
            return Self.subject(type: type, id: id, patient: Self.patientID(of: resource, type: type, id: id))
        case .create, .delete:
            return nil
        }
    }

    /// Writes a run of creates: their unique identifiers checked together, then one INSERT per
    /// table for all of them.
    static func applyCreates(
        _ writes: [PreparedWrite],
        auditing records: [AuditRecord],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [StoredResource] {
        try await Self.checkUnique(writes.map(\.unique), on: connection, logger: logger)
        var types: [String] = []
        var ids: [String] = []
        var times: [Date] = []
        var subjects: [String] = []
        var bodies: [ByteBuffer] = []
        var patients: [String] = []
        var results: [StoredResource] = []
        for write in writes {
            guard case .create(let stored, let sealed) = write.kind else { continue }
            types.append(write.type.rawValue)
            ids.append(write.id)
            times.append(stored.lastUpdated)
            subjects.append(write.subject)
            bodies.append(sealed)
            patients.append(write.patient ?? "")
            results.append(stored)
        }
        // One statement: the versions, the current rows and every index row.
        var sql = SQLBuilder()
        let typeList = sql.bind(types)
        let idList = sql.bind(ids)
        let timeList = sql.bind(times)
        var members = [
            """
            v AS (INSERT INTO resource_versions (type, id, version, last_updated, deleted, subject, body)
            SELECT t, i, 1, u, false, s, b FROM unnest(\(typeList)::text[], \(idList)::text[], \(timeList)::timestamptz[], \(sql.bind(subjects))::text[], \(sql.bind(bodies))::bytea[]) AS w(t, i, u, s, b))
            """,
            """
            c AS (INSERT INTO resources (type, id, version, last_updated, deleted, patient_id)
            SELECT t, i, 1, u, false, NULLIF(p, '') FROM unnest(\(typeList)::text[], \(idList)::text[], \(timeList)::timestamptz[], \(sql.bind(patients))::text[]) AS w(t, i, u, p))
            """,
        ]
        members += SearchIndexer.insertions(writes.map { SearchIndexer.Row(type: $0.type.rawValue, id: $0.id, entries: $0.entries) }, sql: &sql)
        if !records.isEmpty { members.append(AuditLog.queueInsertion(records, sql: &sql)) }
        try await connection.run(PostgresQuery(unsafeSQL: "WITH " + members.joined(separator: ",\n") + "\nSELECT 1", binds: sql.bindings), logger: logger)
        return results
    }

    /// A write with everything that needs the key store done.
    struct PreparedWrite: Sendable {
        enum Kind: Sendable {
            case create(StoredResource, sealed: ByteBuffer)
            case update(JSONObject, ifMatch: Int?)
            case delete
        }
        var type: ResourceType
        var id: String
        var kind: Kind
        var patient: String?
        var subject: String
        var entries: SearchIndexer.Entries?
        var unique: [(String, String)]
    }

    func prepare(_ operation: WriteOperation) async throws -> PreparedWrite {
        switch operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let now = Date().wholeMilliseconds
            let (stored, body) = Self.stamp(resource, type: type, id: id, version: 1, at: now)
            let patient = Self.patientID(of: body, type: type, id: id)
            let subject = Self.subject(type: type, id: id, patient: patient)
            let sealed = ByteBuffer(bytes: try await self.ring.seal(JSONValue.object(body).serialized(), subject: subject, context: Self.context(type, id, 1)))
            let entries = try await self.indexer.entries(for: body, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .create(stored, sealed: sealed), patient: patient, subject: subject,
                entries: entries, unique: self.uniqueTokens(entries, type: type)
            )
        case .update(let type, let id, let resource, let ifMatch):
            let patient = Self.patientID(of: resource, type: type, id: id)
            let subject = Self.subject(type: type, id: id, patient: patient)
            // The data key must be cached before the transaction holds row locks.
            try await self.ring.prepareDataKey(for: subject)
            let entries = try await self.indexer.entries(for: resource, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .update(resource, ifMatch: ifMatch), patient: patient, subject: subject,
                entries: entries, unique: self.uniqueTokens(entries, type: type)
            )
        case .delete(let type, let id):
            return PreparedWrite(type: type, id: id, kind: .delete, patient: nil, subject: "", entries: nil, unique: [])
        }
    }

    static func apply(_ write: PreparedWrite, ring: DataKeyRing, on connection: PostgresConnection, logger: Logger) async throws -> StoredResource {
        let typeName = write.type.rawValue
        let id = write.id
        switch write.kind {
        case .create:
            return try await Self.applyCreates([write], auditing: [], on: connection, logger: logger)[0]
        case .update(let resource, let ifMatch):
            try await Self.checkUnique([write.unique], except: id, on: connection, logger: logger)
            guard let current = try await Self.lockCurrent(typeName, id, on: connection, logger: logger) else {
                throw ResourceError(.methodNotAllowed, .notSupported, "\(typeName)/\(id) does not exist; the hub assigns ids: create with POST")
            }
            if let ifMatch, ifMatch != current {
                throw ResourceError(.preconditionFailed, .conflict, "If-Match names version \(ifMatch) but the current version is \(current)")
            }
            let version = current + 1
            let now = Date().wholeMilliseconds
            let (stored, body) = Self.stamp(resource, type: write.type, id: id, version: version, at: now)
            let sealed = ByteBuffer(
                bytes: try await ring.seal(JSONValue.object(body).serialized(), subject: write.subject, context: Self.context(write.type, id, version))
            )
            try await connection.run(
                """
                INSERT INTO resource_versions (type, id, version, last_updated, deleted, subject, body)
                VALUES (\(typeName), \(id), \(version), \(now), false, \(write.subject), \(sealed))
                """,
                logger: logger
            )
            try await connection.run(
                """
                UPDATE resources SET version = \(version), last_updated = \(now), deleted = false, patient_id = \(write.patient)
                WHERE type = \(typeName) AND id = \(id)
                """,
                logger: logger
            )
            try await SearchIndexer.write([.init(type: typeName, id: id, entries: write.entries)], replacing: true, on: connection, logger: logger)
            return stored
        case .delete:
            let rows = try await connection.query(
                """
                SELECT r.version, r.deleted, r.last_updated, v.subject FROM resources r
                JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
                WHERE r.type = \(typeName) AND r.id = \(id) FOR UPDATE OF r
                """,
                logger: logger
            )
            var found: (Int, Bool, Date, String)?
            for try await row in rows.decode((Int, Bool, Date, String).self) { found = row }
            guard let (current, deleted, lastUpdated, subject) = found else {
                throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
            }
            let patient = subject.hasPrefix("Patient/") ? String(subject.dropFirst("Patient/".count)) : nil
            if deleted {
                return StoredResource(
                    type: write.type, id: id, versionID: current, lastUpdated: lastUpdated.nearestMillisecond, isDeleted: true, resource: nil,
                    patientID: patient
                )
            }
            let version = current + 1
            let now = Date().wholeMilliseconds
            try await connection.run(
                """
                INSERT INTO resource_versions (type, id, version, last_updated, deleted, subject, body)
                VALUES (\(typeName), \(id), \(version), \(now), true, \(subject), NULL)
                """,
                logger: logger
            )
            try await connection.run(
                """
                UPDATE resources SET version = \(version), last_updated = \(now), deleted = true
                WHERE type = \(typeName) AND id = \(id)
                """,
                logger: logger
            )
            try await SearchIndexer.write([.init(type: typeName, id: id, entries: nil)], replacing: true, on: connection, logger: logger)
            return StoredResource(type: write.type, id: id, versionID: version, lastUpdated: now, isDeleted: true, resource: nil, patientID: patient)
        }
    }

    public func read(_ type: ResourceType, id: String) async throws -> StoredResource {
        let typeName = type.rawValue
        let row = try await self.database.withConnection("read resource") { connection in
            let rows = try await connection.query(
                """
                SELECT v.version, v.last_updated, v.deleted, v.body FROM resources r
                JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
                WHERE r.type = \(typeName) AND r.id = \(id)
                """,
                logger: self.logger
            )
            for try await row in rows.decode((Int, Date, Bool, ByteBuffer?).self) {
                return row as (Int, Date, Bool, ByteBuffer?)?
            }
            return nil
        }
        guard let (version, lastUpdated, deleted, body) = row else {
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
        }
        guard !deleted else {
            throw ResourceError(.gone, .deleted, "\(typeName)/\(id) was deleted (version \(version))")
        }
        return try await self.opened(type, id, version, lastUpdated, deleted, body)
    }

    public func read(_ type: ResourceType, id: String, version: Int) async throws -> StoredResource {
        let typeName = type.rawValue
        let row = try await self.database.withConnection("read resource version") { connection in
            let rows = try await connection.query(
                """
                SELECT last_updated, deleted, body FROM resource_versions
                WHERE type = \(typeName) AND id = \(id) AND version = \(version)
                """,
                logger: self.logger
            )
            for try await row in rows.decode((Date, Bool, ByteBuffer?).self) {
                return row as (Date, Bool, ByteBuffer?)?
            }
            return nil
        }
        guard let (lastUpdated, deleted, body) = row else {
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) has no version \(version)")
        }
        return try await self.opened(type, id, version, lastUpdated, deleted, body)
    }

    public func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.update(type, id: id, resource, ifMatch: ifMatch)], audit: audit)[0]
    }

    public func delete(_ type: ResourceType, id: String, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.delete(type, id: id)], audit: audit)[0]
    }

    public func history(_ type: ResourceType, id: String, count: Int) async throws -> [StoredResource] {
        let typeName = type.rawValue
        let limit = max(1, min(count, 1000))
        let rows = try await self.database.withConnection("read history") { connection in
            let rows = try await connection.query(
                """
                SELECT version, last_updated, deleted, body FROM resource_versions
                WHERE type = \(typeName) AND id = \(id) ORDER BY version DESC LIMIT \(limit)
                """,
                logger: self.logger
            )
            var result: [(Int, Date, Bool, ByteBuffer?)] = []
            for try await row in rows.decode((Int, Date, Bool, ByteBuffer?).self) { result.append(row) }
            return result
        }
        guard !rows.isEmpty else {
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
        }
        var versions: [StoredResource] = []
        for (version, lastUpdated, deleted, body) in rows {
            versions.append(try await self.opened(type, id, version, lastUpdated, deleted, body))
        }
        return versions
    }

    public func history(_ type: ResourceType?, since: Date?, count: Int, after cursor: String?) async throws -> (versions: [StoredResource], next: String?) {
        let limit = max(1, min(count, 1000))
        // The cursor is `<microseconds since 1970>:<row key>` of the last version returned: the
        // order (time, row key) descending is total, so pages neither repeat nor skip.
        var cursorTime: String?
        var cursorKey = ""
        if let cursor {
            let parts = cursor.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let micros = Int64(parts[0]) else {
                throw ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
            }
            cursorTime = Self.timestampLiteral(microseconds: micros)
            cursorKey = String(parts[1])
        }
        let typeName = type?.rawValue
        let logger = self.logger
        let (afterTime, afterKey) = (cursorTime, cursorKey)
        let rows = try await self.database.withConnection("read history") { connection in
            let rows = try await connection.query(
                """
                SELECT type, id, version, last_updated, deleted, body, row_key FROM resource_versions
                WHERE (\(typeName)::text IS NULL OR type = \(typeName))
                  AND (\(since)::timestamptz IS NULL OR last_updated >= \(since))
                  AND (\(afterTime)::timestamptz IS NULL OR (last_updated, row_key) < (\(afterTime)::timestamptz, \(afterKey)))
                ORDER BY last_updated DESC, row_key DESC LIMIT \(limit + 1)
                """,
                logger: logger
            )
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
            next = "\(Int64((last.3.timeIntervalSince1970 * 1_000_000).rounded())):\(last.6)"
        }
        return (versions, next)
    }

    // MARK: Helpers

    /// The (system, blind value) pairs of a Patient's identifiers that must be unique.
    private func uniqueTokens(_ entries: SearchIndexer.Entries, type: ResourceType) -> [(String, String)] {
        guard type == .patient else { return [] }
        return entries.tokens.filter { $0.param == "identifier" && self.uniquePatientIdentifierSystems.contains($0.system) }
            .map { ($0.system, $0.code) }
    }

    /// Refuses a second current Patient with a unique identifier, whether it exists already or
    /// comes twice among `tokens` (one list per write; an error's `entry` says which). A
    /// transaction-scoped advisory lock per value, taken in a fixed order, serialises concurrent
    /// writers of the same identifier, so two simultaneous creates cannot both pass the check.
    private static func checkUnique(_ tokens: [[(String, String)]], except id: String = "", on connection: PostgresConnection, logger: Logger) async throws {
        var owner: [String: Int] = [:]
        for (entry, list) in tokens.enumerated() {
            for (system, code) in list {
                if owner.updateValue(entry, forKey: system + "|" + code) != nil {
                    var error = ResourceError(.conflict, .duplicate, "two Patients in this request share a \(system) identifier", expression: ["Patient.identifier"])
                    error.entry = entry
                    throw error
                }
            }
        }
        guard !owner.isEmpty else { return }
        let keys = owner.keys.sorted()
        let pairs = keys.map { key in key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init) }
        let systems = pairs.map { $0[0] }
        let codes = pairs.map { $0.count > 1 ? $0[1] : "" }
        try await connection.run(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT k FROM unnest(\(keys)::text[]) AS u(k) ORDER BY k) AS ordered",
            logger: logger
        )
        let rows = try await connection.query(
            """
            SELECT t.system || '|' || t.code, t.id FROM search_token t JOIN resources r ON r.type = t.type AND r.id = t.id
            WHERE t.type = 'Patient' AND t.param = 'identifier'
              AND (t.system, t.code) IN (SELECT * FROM unnest(\(systems)::text[], \(codes)::text[]))
              AND t.id <> \(id) AND NOT r.deleted
            LIMIT 1
            """,
            logger: logger
        )
        for try await (key, existing) in rows.decode((String, String).self) {
            let system = key.split(separator: "|").first.map(String.init) ?? ""
            var error = ResourceError(.conflict, .duplicate, "a Patient with this \(system) identifier exists: Patient/\(existing)", expression: ["Patient.identifier"])
            error.entry = owner[key]
            throw error
        }
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
            patientID: Self.patientID(of: object, type: type, id: id)
        )
    }

    private static func lockCurrent(_ type: String, _ id: String, on connection: PostgresConnection, logger: Logger) async throws -> Int? {
        let rows = try await connection.query(
            "SELECT version FROM resources WHERE type = \(type) AND id = \(id) FOR UPDATE",
            logger: logger
        )
        for try await version in rows.decode(Int.self) { return version }
        return nil
    }

    /// The AEAD context of one version: a ciphertext moved to another resource or version does
    /// not open.
    static func context(_ type: ResourceType, _ id: String, _ version: Int) -> [UInt8] {
        Array("\(type.rawValue)/\(id)/\(version)".utf8)
    }

    /// Whose data key seals a resource: its patient's, or its own outside any patient compartment.
    static func subject(type: ResourceType, id: String, patient: String?) -> String {
        if let patient { return "Patient/\(patient)" }
        return "\(type.rawValue)/\(id)"
    }

    /// The patient a resource belongs to, from the first of its type's patient references that
    /// names a Patient.
    static func patientID(of resource: JSONObject, type: ResourceType, id: String) -> String? {
        if type == .patient { return id }
        for path in type.definition.patientReferences {
            for value in SearchIndexer.values(at: path.split(separator: ".").map(String.init), in: .object(resource)) {
                guard let reference = value.objectValue?["reference"]?.stringValue else { continue }
                let parts = reference.split(separator: "/")
                if parts.count >= 2, parts[0] == "Patient" { return String(parts[1]) }
            }
        }
        return nil
    }

    /// The resource as stored: server id, `meta.versionId` and `meta.lastUpdated` set, other
    /// `meta` elements (profile, tag, security) kept.
    static func stamp(_ resource: JSONObject, type: ResourceType, id: String, version: Int, at time: Date) -> (StoredResource, JSONObject) {
        var body = JSONObject([("resourceType", .string(type.rawValue)), ("id", .string(id))])
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(time.fhirInstant)
        body["meta"] = .object(meta)
        for member in resource.members where !["resourceType", "id", "meta"].contains(member.key) {
            body[member.key] = member.value
        }
        let stored = StoredResource(
            type: type, id: id, versionID: version, lastUpdated: time, isDeleted: false, resource: body,
            patientID: Self.patientID(of: body, type: type, id: id)
        )
        return (stored, body)
    }
}
