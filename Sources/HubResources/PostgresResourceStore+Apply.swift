import Foundation
import HubAudit
import HubConfig
import HubCrypto
import HubFHIR
import HubKeys
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Prepared writes applied inside the transaction: creates in one statement per table, updates
/// and deletes row by row (version checked, sealed with the cached data key), with their index
/// rows and the access facts they establish or withdraw.
extension PostgresResourceStore {
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
        // Its text depends on which tables the writes reach, not on how many writes: planned once
        // per connection and shape.
        try await connection.run(
            sql.reusable("WITH " + members.joined(separator: ",\n") + "\nSELECT 1"), logger: logger)
        return results
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
            let (stored, body) = WriteClassifier.stamp(resource, type: write.type, id: id, version: version, at: now, patient: write.patient)
            let sealed = ByteBuffer(
                bytes: try await ring.seal(
                    JSONValue.object(body).serialized(), subject: write.subject, context: Self.context(write.type, id, version))
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
    static func keepingRecordedTimes(_ rules: [AccessFacts.ConsentRule], consent id: String, on connection: PostgresConnection, logger: Logger)
        async throws -> [AccessFacts.ConsentRule]
    {
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
            rule.recordedAt =
                recorded.first { old in
                    old.0 == rule.organization && old.1 == rule.permit && sameInstant(old.2, rule.start) && sameInstant(old.3, rule.end)
                }?.4
            return rule
        }
    }

    /// Refuses a second current Patient with a unique identifier, whether it exists already or
    /// comes twice among `tokens` (one list per write; an error's `entry` says which). A
    /// transaction-scoped advisory lock per value, taken in a fixed order, serialises concurrent
    /// writers of the same identifier, so two simultaneous creates cannot both pass the check.
    private static func checkUnique(_ tokens: [[(String, String)]], except id: String = "", on connection: PostgresConnection, logger: Logger)
        async throws
    {
        var owner: [String: Int] = [:]
        for (entry, list) in tokens.enumerated() {
            for (system, code) in list {
                if owner.updateValue(entry, forKey: system + "|" + code) != nil {
                    var error = ResourceError(
                        .conflict, .duplicate, "two Patients in this request share a \(system) identifier", expression: ["Patient.identifier"])
                    error.entry = entry
                    throw error
                }
            }
        }
        guard !owner.isEmpty else { return }
        for (key, patient) in try await Self.identifierHolders(Array(owner.keys), except: id, on: connection, logger: logger).prefix(1) {
            var error = Self.identifierConflict(key, holder: patient)
            error.entry = owner[key]
            throw error
        }
    }

    /// The refusal of a Patient whose unique identifier (`system|blind value`) `holder` has.
    /// Not which Patient: the caller may not be allowed to see it. Registering the patient
    /// (conditional create) finds it, relates the caller's organization, and is audited.
    static func identifierConflict(_ key: String, holder: String) -> ResourceError {
        let system = key.split(separator: "|").first.map(String.init) ?? ""
        var error = ResourceError(
            .conflict, .duplicate,
            "a Patient with this \(system) identifier exists; register the patient with If-None-Exist: identifier=\(system)|<value>",
            expression: ["Patient.identifier"]
        )
        error.conflictingPatient = holder
        return error
    }

    /// The Patients that hold any of `keys` (`system|blind value` of identifiers that must be
    /// unique), other than `id`: each key with one holder. The keys are locked for the rest of
    /// the transaction first (in one order, so that two writers never deadlock), so that no
    /// concurrent write can take one between this check and the insert.
    static func identifierHolders(_ keys: [String], except id: String = "", on connection: PostgresConnection, logger: Logger) async throws
        -> [(key: String, patient: String)]
    {
        let keys = keys.sorted()
        let pairs = keys.map { key in key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init) }
        let systems = pairs.map { $0[0] }
        let codes = pairs.map { $0.count > 1 ? $0[1] : "" }
        try await connection.run(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT k FROM unnest(\(keys)::text[]) AS u(k) ORDER BY k) AS ordered",
            logger: logger
        )
        let rows = try await connection.query(
            """
            SELECT DISTINCT ON (t.system, t.code) t.system || '|' || t.code, t.id FROM search_token t JOIN resources r ON r.type = t.type AND r.id = t.id
            WHERE t.type = 'Patient' AND t.param = 'identifier'
              AND (t.system, t.code) IN (SELECT * FROM unnest(\(systems)::text[], \(codes)::text[]))
              AND t.id <> \(id) AND NOT r.deleted
            """,
            logger: logger
        )
        var holders: [(key: String, patient: String)] = []
        for try await (key, patient) in rows.decode((String, String).self) { holders.append((key, patient)) }
        return holders
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
}
