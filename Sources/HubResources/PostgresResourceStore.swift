public import Foundation
public import HubConfig
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
    /// Conflicts on those identifiers per organization (``transaction(_:access:audit:)``).
    let identifierConflicts: AttemptLimiter?
    /// The hub's own FHIR bases: absolute references on them are stored relative.
    let references: ReferenceCanonicalizer

    /// - Parameters:
    ///   - references: The hub's own bases (`server.public_url` + `/fhir`); without them, an
    ///     absolute reference to a patient is refused as one on another server.
    ///   - identifierConflicts: How many conflicts on unique patient identifiers an organization
    ///     may cause (`access.identifier_conflict_limit`); nil for no limit (the hub's own jobs).
    public init(
        database: Database, ring: DataKeyRing, logger: Logger, uniquePatientIdentifierSystems: Set<String> = [],
        references: ReferenceCanonicalizer = ReferenceCanonicalizer(bases: []), identifierConflicts: AttemptLimiter? = nil
    ) {
        self.database = database
        self.ring = ring
        self.logger = logger
        self.uniquePatientIdentifierSystems = uniquePatientIdentifierSystems
        self.references = references
        self.identifierConflicts = identifierConflicts
        let keyStore = ring.keyStore
        let suite = ring.suite
        self.indexer = SearchIndexer { values, normalization, domain in
            try await keyStore.blindIndexes(values, normalization: normalization, domain: domain, suite: suite)
        }
    }

    /// The encrypted column that `hub keys migrate` re-encrypts.
    public static func encryptedColumn() throws -> EncryptedColumn {
        try EncryptedColumn(table: "resource_versions", keyColumn: "row_key", subjectColumn: "subject", valueColumn: "body") { rowKey, _ in
            Array(rowKey.utf8)
        }
    }

    public func create(_ resource: JSONObject, type: ResourceType, access: RecordAccess, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.create(type, id: nil, resource)], access: access, audit: audit)[0]
    }

    /// Applies writes atomically, in order: all commit or none (a transaction Bundle).
    ///
    /// Encryption and blind indexes need the key store, so each write is prepared first, outside
    /// the database transaction; the transaction then only writes rows (and seals updates, whose
    /// version number it decides, with data keys already cached). The audit records of the
    /// writes are queued in the same transaction (in the same statement, for creates).
    public func transaction(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource] {
        // Ids first, so every data key the writes need is fetched or made in one go; every write
        // classified (canonical references, its patient) before anything else looks at it.
        var classified: [ClassifiedWrite] = []
        for (index, operation) in operations.enumerated() {
            do {
                classified.append(try self.classify(operation))
            } catch {
                guard operations.count > 1 else { throw error }
                var located = error
                located.diagnostics = "entry \(index): \(error.diagnostics)"
                located.entry = index
                throw located
            }
        }
        // The patients these writes aim at (a new Patient aims at nobody yet).
        access.targets?.note(classified.compactMap { write in
            if case .create(.patient, _, _) = write.operation { return nil }
            return write.patient
        })
        let operations = classified.map(\.operation)
        try await self.ring.prepareDataKeys(for: classified.compactMap(\.subject))
        var prepared: [PreparedWrite] = []
        let writer = access.organization ?? audit.caller.organization
        for write in classified {
            prepared.append(try await self.prepare(write, writer: writer, emergencyPatient: access.emergencyPatient))
        }
        try await self.checkWritable(prepared, access: access)
        // A Patient created with an identifier that must be unique (the resident ID number) is
        // refused if another Patient has it: an answer about a record the caller may not see.
        // Each such conflict is counted against the organization, and past the limit its
        // creates carrying such identifiers are refused before the check (429) — so the
        // conflicts cannot be used to test numbers one by one. The patient found is named in
        // the audit trail.
        let probing = access.organization.flatMap { organization in
            prepared.contains { write in
                guard case .create = write.kind else { return false }
                return write.type == .patient && !write.unique.isEmpty
            } ? organization : nil
        }
        if let probing { try self.identifierConflicts?.check(probing, what: "conflicting patient identifiers") }
        do {
            return try await self.commit(prepared, operations: operations, access: access, audit: audit)
        } catch let error as ResourceError where error.conflictingPatient != nil {
            access.targets?.note(error.conflictingPatient)
            if let probing { self.identifierConflicts?.count(probing) }
            throw error
        }
    }

    /// The transaction of ``transaction(_:access:audit:)``, its writes prepared and checked.
    func commit(_ prepared: [PreparedWrite], operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource] {
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
            let stored = try await self.database.withConnection("write resources") { connection in
                try await Self.applyCreates(writes, auditing: records, on: connection, logger: logger)
            }
            access.targets?.cover(stored.compactMap(\.patientID))
            return stored
        }
        let stored = try await self.database.withTransaction("write resources") { connection in
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
                    let entry = error.entry.map({ index + $0 }) ?? (end > index ? nil : index)
                    if let entry {
                        located.diagnostics = "entry \(entry): \(error.diagnostics)"
                    }
                    located.entry = entry
                    throw located
                }
            }
            try await AuditLog.enqueue(recordAudit(results), on: connection, logger: logger)
            return results
        }
        // The records just written name these patients: the request's own record need not.
        access.targets?.cover(stored.compactMap(\.patientID))
        return stored
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

    public func canonical(_ operation: WriteOperation) -> WriteOperation {
        switch operation {
        case .create(let type, let id, let resource): .create(type, id: id, self.references.canonicalize(resource))
        case .update(let type, let id, let resource, let ifMatch): .update(type, id: id, self.references.canonicalize(resource), ifMatch: ifMatch)
        case .delete: operation
        }
    }

    /// A write with its id assigned, its references canonical and its patient known.
    struct ClassifiedWrite: Sendable {
        var operation: WriteOperation
        var patient: String?
        /// Whose data key seals it (nil for a delete, which seals nothing).
        var subject: String?
    }

    /// The one classification every write goes through: ids assigned, references on the hub's
    /// own bases made relative, and the patient decided by ``PatientCompartment`` — a reference
    /// in a compartment element that cannot be resolved to one patient is refused (422).
    func classify(_ operation: WriteOperation) throws(ResourceError) -> ClassifiedWrite {
        switch operation {
        case .create(.consent, _, let resource), .update(.consent, _, let resource, _):
            if let (element, problem) = AccessFacts.consentProblem(self.references.canonicalize(resource)) {
                throw ResourceError(.unprocessable, .businessRule, problem, expression: [element])
            }
        default: break
        }
        switch operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(operation: .create(type, id: id, canonical), patient: patient, subject: Self.subject(type: type, id: id, patient: patient))
        case .update(let type, let id, let resource, let ifMatch):
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(
                operation: .update(type, id: id, canonical, ifMatch: ifMatch), patient: patient, subject: Self.subject(type: type, id: id, patient: patient)
            )
        case .delete:
            return ClassifiedWrite(operation: operation, patient: nil, subject: nil)
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
        var organizations: [String] = []
        var results: [StoredResource] = []
        for write in writes {
            guard case .create(let stored, let sealed) = write.kind else { continue }
            types.append(write.type.rawValue)
            ids.append(write.id)
            times.append(stored.lastUpdated)
            subjects.append(write.subject)
            bodies.append(sealed)
            patients.append(write.patient ?? "")
            organizations.append(write.organization ?? "")
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
            c AS (INSERT INTO resources (type, id, version, last_updated, deleted, patient_id, organization)
            SELECT t, i, 1, u, false, NULLIF(p, ''), NULLIF(o, '') FROM unnest(\(typeList)::text[], \(idList)::text[], \(timeList)::timestamptz[], \(sql.bind(patients))::text[], \(sql.bind(organizations))::text[]) AS w(t, i, u, p, o))
            """,
        ]
        members += SearchIndexer.insertions(writes.map { SearchIndexer.Row(type: $0.type.rawValue, id: $0.id, entries: $0.entries) }, sql: &sql)
        members += AccessFacts.insertions(writes.compactMap(\.facts), sql: &sql)
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
        /// The organization of the caller writing.
        var organization: String?
        var subject: String
        var entries: SearchIndexer.Entries?
        /// What the new version tells access control (nil for a deletion).
        var facts: AccessFacts?
        var unique: [(String, String)]
    }

    func prepare(_ write: ClassifiedWrite, writer: String?, emergencyPatient: String?) async throws -> PreparedWrite {
        let patient = write.patient
        let emergency = patient != nil && patient == emergencyPatient
        let subject = write.subject ?? ""
        switch write.operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let now = Date().wholeMilliseconds
            let (stored, body) = Self.stamp(resource, type: type, id: id, version: 1, at: now, patient: patient)
            let sealed = ByteBuffer(bytes: try await self.ring.seal(JSONValue.object(body).serialized(), subject: subject, context: Self.context(type, id, 1)))
            let entries = try await self.indexer.entries(for: body, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .create(stored, sealed: sealed), patient: patient, organization: writer, subject: subject,
                entries: entries, facts: AccessFacts(body, type: type, id: id, patient: patient, writer: writer, creating: true, emergency: emergency),
                unique: self.uniqueTokens(entries, type: type)
            )
        case .update(let type, let id, let resource, let ifMatch):
            // The data key must be cached before the transaction holds row locks.
            try await self.ring.prepareDataKey(for: subject)
            let entries = try await self.indexer.entries(for: resource, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .update(resource, ifMatch: ifMatch), patient: patient, organization: writer, subject: subject,
                entries: entries, facts: AccessFacts(resource, type: type, id: id, patient: patient, writer: writer, creating: false, emergency: emergency),
                unique: self.uniqueTokens(entries, type: type)
            )
        case .delete(let type, let id):
            return PreparedWrite(type: type, id: id, kind: .delete, patient: nil, organization: writer, subject: "", entries: nil, facts: nil, unique: [])
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
            guard let (current, owner) = try await Self.lockCurrent(typeName, id, on: connection, logger: logger) else {
                // Worded as for a record the caller may not see: the answer must not tell the two
                // apart (ids are the hub's: create with POST).
                throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
            }
            if let ifMatch, ifMatch != current {
                throw ResourceError(.preconditionFailed, .conflict, "If-Match names version \(ifMatch) but the current version is \(current)")
            }
            let version = current + 1
            let now = Date().wholeMilliseconds
            let (stored, body) = Self.stamp(resource, type: write.type, id: id, version: version, at: now, patient: write.patient)
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
            // A relationship belongs to the organization that established it: another one that
            // changes the encounter (or appointment) relates the record's author, not itself. (A
            // referral's Task relates its addressee, whoever writes it: not touched here.)
            var facts = write
            if let owner, [.encounter, .appointment].contains(write.type) { facts.facts?.care?.organization = owner }
            try await Self.replaceFacts(of: facts, on: connection, logger: logger)
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
            try await Self.replaceFacts(of: write, on: connection, logger: logger)
            return StoredResource(type: write.type, id: id, versionID: version, lastUpdated: now, isDeleted: true, resource: nil, patientID: patient)
        }
    }

    public func read(_ type: ResourceType, id: String, access: RecordAccess) async throws -> StoredResource {
        let typeName = type.rawValue
        var sql = SQLBuilder()
        let text = """
            SELECT v.version, v.last_updated, v.deleted, v.body FROM \(access.visibleResources("r", sql: &sql))
            JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
            WHERE r.type = \(sql.bind(typeName)) AND r.id = \(sql.bind(id))
            """
        let statement = sql.query(text)
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
        let statement = sql.query(text)
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

    public func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, access: RecordAccess, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.update(type, id: id, resource, ifMatch: ifMatch)], access: access, audit: audit)[0]
    }

    public func delete(_ type: ResourceType, id: String, access: RecordAccess, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.delete(type, id: id)], access: access, audit: audit)[0]
    }

    public func register(patientID: String, access: RecordAccess) async throws {
        access.targets?.note(patientID)
        guard let organization = access.organization else { return }
        var sql = SQLBuilder()
        let members = AccessFacts.insertions([AccessFacts(source: "Patient/\(patientID)", care: .init(patient: patientID, organization: organization, basis: "registration"))], sql: &sql)
        let logger = self.logger
        let statement = sql.query("WITH " + members.joined(separator: ",\n") + "\nSELECT 1")
        try await self.database.withConnection("register patient") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    /// For the audit trail only: notes the patient of `type/id` when the caller could not have
    /// it — missing, invisible or deleted alike, so that the refusal appears in that patient's
    /// access history. Nothing of it reaches the caller; both kinds of miss cost this one query.
    func noteTarget(_ type: ResourceType, _ id: String, access: RecordAccess) async {
        guard let targets = access.targets else { return }
        var sql = SQLBuilder()
        let text = "SELECT patient_id FROM resources WHERE type = \(sql.bind(type.rawValue)) AND id = \(sql.bind(id))"
        let statement = sql.query(text)
        let logger = self.logger
        do {
            let patient = try await self.database.withConnection("note audit target") { connection in
                let rows = try await connection.query(statement, logger: logger)
                for try await row in rows { return try row.decode(String?.self) }
                return nil
            }
            targets.note(patient)
        } catch {
            // The request fails anyway; its record then names no patient.
            logger.warning("the patient of a refused request could not be looked up", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Replaces what earlier versions of the written resource told access control (two
    /// statements: a statement does not see its own deletions).
    static func replaceFacts(of write: PreparedWrite, on connection: PostgresConnection, logger: Logger) async throws {
        var write = write
        if write.type == .consent, let rules = write.facts?.consentRules, !rules.isEmpty {
            write.facts?.consentRules = try await Self.keepingRecordedTimes(rules, consent: write.id, on: connection, logger: logger)
        }
        var removal = SQLBuilder()
        let members = AccessFacts.removals(["\(write.type.rawValue)/\(write.id)"], sql: &removal)
        try await connection.run(removal.query("WITH " + members.joined(separator: ",\n") + "\nSELECT 1"), logger: logger)
        guard let facts = write.facts else { return }
        var insertion = SQLBuilder()
        let inserts = AccessFacts.insertions([facts], sql: &insertion)
        guard !inserts.isEmpty else { return }
        try await connection.run(insertion.query("WITH " + inserts.joined(separator: ",\n") + "\nSELECT 1"), logger: logger)
    }

    /// `rules` with the recorded time of the same rule (organization, decision, period) in the
    /// Consent's current version: re-saving a Consent does not make its decisions newer.
    static func keepingRecordedTimes(_ rules: [AccessFacts.ConsentRule], consent id: String, on connection: PostgresConnection, logger: Logger) async throws -> [AccessFacts.ConsentRule] {
        var sql = SQLBuilder()
        let text = "SELECT organization_id, permit, lower(period), upper(period), recorded_at FROM consent_rules WHERE consent_id = \(sql.bind(id))"
        let rows = try await connection.query(sql.query(text), logger: logger)
        var recorded: [(String?, Bool, Date?, Date?, Date)] = []
        for try await row in rows.decode((String?, Bool, Date?, Date?, Date).self) { recorded.append(row) }
        func sameInstant(_ a: Date?, _ b: Date?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let a?, let b?): abs(a.timeIntervalSince(b)) < 0.001
            default: false
            }
        }
        return rules.map { rule in
            var rule = rule
            rule.recordedAt = recorded.first { old in
                old.0 == rule.organization && old.1 == rule.permit && sameInstant(old.2, rule.start) && sameInstant(old.3, rule.end)
            }?.4
            return rule
        }
    }

    /// A restricted caller writes only where it may see: every resource it changes, and the
    /// patient of every resource it creates or moves to another patient (unless the same writes
    /// create that patient). A record shared with the caller (a referral addressed to it) may be
    /// changed without seeing the rest of the patient's records.
    /// A resource outside every patient compartment (a Slot, a Schedule, an Organization) is
    /// changed only by the organization that published it — or as what a permitted write
    /// entails (``RecordAccess/entailedWrites``: a booking takes another hospital's Slot).
    /// Checked before the transaction; a consent withdrawn meanwhile applies from the next write.
    func checkWritable(_ writes: [PreparedWrite], access: RecordAccess) async throws {
        var changed: [String] = []
        var creating: Set<String> = []
        for write in writes {
            try access.require(write.type, write: true)
            switch write.kind {
            case .create where write.type == .patient: creating.insert(write.id)
            case .create: break
            case .update, .delete: changed.append("\(write.type.rawValue)/\(write.id)")
            }
        }
        let candidates = Set(writes.compactMap { $0.type == .patient ? nil : $0.patient }).subtracting(creating)
        guard access.rule != .unrestricted, !changed.isEmpty || !candidates.isEmpty else { return }
        var sql = SQLBuilder()
        let condition = RecordAccess(access.rule).isVisible("r", sql: &sql)
        let keys = sql.bind(changed)
        let patientList = sql.bind(candidates.sorted())
        let statement = sql.query(
            """
            SELECT r.type || '/' || r.id, (\(condition)), r.patient_id, r.organization FROM resources r
            WHERE (r.type || '/' || r.id) = ANY(\(keys)) OR (r.type = 'Patient' AND r.id = ANY(\(patientList)) AND NOT r.deleted)
            """
        )
        let logger = self.logger
        let rows = try await self.database.withConnection("check access") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var found: [String: (visible: Bool, patient: String?, owner: String?)] = [:]
            for try await (key, allowed, patient, owner) in rows.decode((String, Bool, String?, String?).self) { found[key] = (allowed, patient, owner) }
            return found
        }
        access.targets?.note(changed.compactMap { rows[$0]?.patient })
        for key in changed {
            // Missing and invisible answer alike, before anything else is checked.
            guard let row = rows[key], row.visible else { throw ResourceError(.notFound, .notFound, "\(key) does not exist") }
            // A Consent records what the patient decided where they decided it, and a Patient is
            // the registration every hospital relies on: only the organization that wrote it
            // changes or removes it (others record a new Consent).
            if key.hasPrefix("Consent/") || key.hasPrefix("Patient/"), row.owner != access.organization {
                throw ResourceError(.forbidden, .forbidden, "\(key) was recorded by another organization: only it changes it")
            }
            if row.patient == nil, row.owner != access.organization, !access.entailedWrites.contains(key) {
                throw ResourceError(.forbidden, .forbidden, "\(key) is published by another organization: only it changes it")
            }
        }
        // A record stays in its patient's compartment: it never leaves for "no patient" (which
        // would make it visible to everyone), and only its author files it under another patient.
        for write in writes {
            guard case .update = write.kind, let row = rows["\(write.type.rawValue)/\(write.id)"], let before = row.patient, before != write.patient else { continue }
            guard write.patient != nil else {
                throw ResourceError(
                    .unprocessable, .businessRule,
                    "\(write.type.rawValue)/\(write.id) belongs to a patient's record: an update must keep naming its patient"
                )
            }
            guard row.owner == access.organization else {
                throw ResourceError(.forbidden, .forbidden, "only the organization that wrote \(write.type.rawValue)/\(write.id) files it under another patient")
            }
        }
        var patients: Set<String> = []
        for write in writes where write.type != .patient {
            guard let patient = write.patient, !creating.contains(patient) else { continue }
            if case .create = write.kind {
                patients.insert(patient)
            } else if rows["\(write.type.rawValue)/\(write.id)"]?.patient != patient {
                patients.insert(patient)
            }
        }
        for patient in patients.sorted() where rows["Patient/\(patient)"]?.visible != true {
            throw ResourceError(
                .forbidden, .forbidden,
                "no access to the records of Patient/\(patient): the organization has no care relationship or consent for this patient"
            )
        }
    }

    public func history(_ type: ResourceType, id: String, count: Int, access: RecordAccess) async throws -> [StoredResource] {
        let typeName = type.rawValue
        let limit = max(1, min(count, 1000))
        var sql = SQLBuilder()
        let text = """
            SELECT v.version, v.last_updated, v.deleted, v.body FROM resource_versions v
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = v.type AND r.id = v.id
            WHERE v.type = \(sql.bind(typeName)) AND v.id = \(sql.bind(id))
            ORDER BY v.version DESC LIMIT \(sql.bind(limit))
            """
        let statement = sql.query(text)
        let rows = try await self.database.withConnection("read history") { connection in
            let rows = try await connection.query(statement, logger: self.logger)
            var result: [(Int, Date, Bool, ByteBuffer?)] = []
            for try await row in rows.decode((Int, Date, Bool, ByteBuffer?).self) { result.append(row) }
            return result
        }
        guard !rows.isEmpty else {
            await self.noteTarget(type, id, access: access)
            throw ResourceError(.notFound, .notFound, "\(typeName)/\(id) does not exist")
        }
        var versions: [StoredResource] = []
        for (version, lastUpdated, deleted, body) in rows {
            versions.append(try await self.opened(type, id, version, lastUpdated, deleted, body))
        }
        return versions
    }

    public func history(_ type: ResourceType?, since: Date?, count: Int, after cursor: String?, access: RecordAccess) async throws -> (versions: [StoredResource], next: String?) {
        let limit = max(1, min(count, 1000))
        // The cursor is `<microseconds since 1970>:<row key>` of the last version returned: the
        // order (time, row key) descending is total, so pages neither repeat nor skip.
        let position = try cursor.map(TimeCursor.init(parsing:))
        let typeName = type?.rawValue
        let logger = self.logger
        let (afterTime, afterKey) = (position?.timestampLiteral, position?.key ?? "")
        var sql = SQLBuilder()
        let typeBind = sql.bind(typeName)
        let sinceBind = sql.bind(since)
        let afterTimeBind = sql.bind(afterTime)
        let text = """
            SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.body, v.row_key FROM resource_versions v
            JOIN \(access.visibleResources("r", sql: &sql)) ON r.type = v.type AND r.id = v.id
            WHERE (\(typeBind)::text IS NULL OR v.type = \(typeBind))
              AND (\(sinceBind)::timestamptz IS NULL OR v.last_updated >= \(sinceBind))
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
        for try await (key, patient) in rows.decode((String, String).self) {
            let system = key.split(separator: "|").first.map(String.init) ?? ""
            // Not which Patient: the caller may not be allowed to see it. Registering the patient
            // (conditional create) finds it, relates the caller's organization, and is audited.
            var error = ResourceError(
                .conflict, .duplicate,
                "a Patient with this \(system) identifier exists; register the patient with If-None-Exist: identifier=\(system)|<value>",
                expression: ["Patient.identifier"]
            )
            error.entry = owner[key]
            error.conflictingPatient = patient
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
            patientID: PatientCompartment.storedPatient(of: object, type: type, id: id)
        )
    }

    /// The current version and the organization that created the resource, row locked.
    private static func lockCurrent(_ type: String, _ id: String, on connection: PostgresConnection, logger: Logger) async throws -> (Int, String?)? {
        let rows = try await connection.query(
            "SELECT version, organization FROM resources WHERE type = \(type) AND id = \(id) FOR UPDATE",
            logger: logger
        )
        for try await (version, owner) in rows.decode((Int, String?).self) { return (version, owner) }
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

    /// The patient a resource belongs to (``PatientCompartment``), or a 422 naming the element
    /// whose reference cannot be filed under one patient.
    static func patientID(of resource: JSONObject, type: ResourceType, id: String) throws(ResourceError) -> String? {
        do {
            return try PatientCompartment.patient(of: resource, type: type, id: id)
        } catch {
            throw ResourceError(.unprocessable, .invalid, error.description, expression: [error.element])
        }
    }

    /// The resource as stored: server id, `meta.versionId` and `meta.lastUpdated` set, other
    /// `meta` elements (profile, tag, security) kept.
    static func stamp(_ resource: JSONObject, type: ResourceType, id: String, version: Int, at time: Date, patient: String?) -> (StoredResource, JSONObject) {
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
            patientID: patient
        )
        return (stored, body)
    }
}

extension PostgresResourceStore {
    /// The store as `hub serve` and the test hub run it: the resident ID number unique among
    /// Patients, the hub's own base, the identifier-conflict limit — one wiring for both.
    public init(database: Database, ring: DataKeyRing, logger: Logger, configuration: HubConfiguration, residentIDSystem: String) {
        self.init(
            database: database, ring: ring, logger: logger,
            uniquePatientIdentifierSystems: [residentIDSystem],
            references: ReferenceCanonicalizer(bases: [configuration.server.baseURL + "/fhir"]),
            identifierConflicts: AttemptLimiter(
                attempts: configuration.access.identifierConflictLimit, window: TimeInterval(60 * configuration.access.registrationWindowMinutes)
            )
        )
    }
}
