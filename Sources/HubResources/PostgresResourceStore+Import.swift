import Foundation
public import HubAudit
import HubCrypto
import HubFHIR
import HubKeys
import HubResourcesCore
import HubStorage
import Logging
public import PostgresNIO

/// Bulk import's write path: a batch of creates prepared and checked as every write is
/// (classification, sealing, blind indexes, access, unique identifiers), but refused line by
/// line instead of as a whole, and applied in one statement with the audit records and the
/// caller's own bookkeeping in one transaction.
extension PostgresResourceStore {
    /// What became of a batch: the resources written, the lines skipped because a resource of
    /// that id exists (an earlier run of the same import wrote it), and the lines refused.
    public struct ImportedBatch: Sendable {
        public var created: [StoredResource] = []
        /// Indices into the batch.
        public var skipped: [Int] = []
        public var refused: [(index: Int, error: ResourceError)] = []
    }

    /// The organization's attempts at Patients whose resident ID another Patient holds are
    /// spent: the batch was not written; the job waits this long before it goes on.
    public struct ImportThrottled: Error, Sendable {
        public var retryAfterSeconds: Int
    }

    /// A batch with everything done that needs no transaction: classified, sealed, indexed and
    /// checked against the caller's access; the lines refused so far.
    public struct PreparedImport: Sendable {
        var candidates: [(index: Int, write: PreparedWrite)]
        var batch: ImportedBatch
        var access: RecordAccess
        var audit: AuditContext
    }

    /// Prepares the creates of `operations` as every create is (classification, sealing, blind
    /// indexes, access), refusing the lines that fail alone; ``commitImport(_:commit:)`` then
    /// writes the rest. The work is shared among `concurrency` tasks (the cores a batch may use
    /// while the previous one commits).
    ///
    /// Every operation must be a create; an id given is kept (the import's namespaced ids).
    public func prepareImport(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext, concurrency: Int = 2) async throws
        -> PreparedImport
    {
        try access.requireWriter()
        var batch = ImportedBatch()
        // Classified, then prepared (sealed, indexed): a line that fails either is refused.
        var classified: [(index: Int, write: ClassifiedWrite)] = []
        for (index, operation) in operations.enumerated() {
            guard case .create = operation else {
                batch.refused.append((index, ResourceError(.invalid, .notSupported, "an import only creates")))
                continue
            }
            do {
                classified.append((index, try self.classifier.classify(operation)))
            } catch {
                batch.refused.append((index, error))
            }
        }
        // A patient whose records were erased gets none back from an import (checked again in
        // the transaction): refused before a data key is made for them.
        let logger = self.logger
        let subjects = Array(Set(classified.compactMap(\.write.subject)))
        let erased = try await self.database.withConnection("check erased subjects") { connection in
            try await Self.erasedSubjects(subjects, on: connection, logger: logger)
        }
        batch.refused += classified.filter { $0.write.subject.map(erased.contains) ?? false }.map { ($0.index, Self.erasedRefusal) }
        classified.removeAll { $0.write.subject.map(erased.contains) ?? false }
        try await self.ring.prepareDataKeys(for: classified.compactMap(\.write.subject))
        let writer = access.organization ?? audit.caller.organization
        let share = max(1, (classified.count + concurrency - 1) / max(1, concurrency))
        let parts = try await withThrowingTaskGroup(of: (Int, [(index: Int, write: PreparedWrite)], [(index: Int, error: ResourceError)]).self) {
            group in
            for (part, start) in stride(from: 0, to: classified.count, by: share).enumerated() {
                let slice = Array(classified[start..<min(classified.count, start + share)])
                group.addTask {
                    var prepared: [(index: Int, write: PreparedWrite)] = []
                    var refused: [(index: Int, error: ResourceError)] = []
                    for (index, write) in slice {
                        do {
                            prepared.append((index, try await self.prepare(write, writer: writer, emergencyPatient: nil)))
                        } catch let error as ResourceError {
                            refused.append((index, error))
                        }
                    }
                    return (part, prepared, refused)
                }
            }
            var parts: [(Int, [(index: Int, write: PreparedWrite)], [(index: Int, error: ResourceError)])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }
        }
        var prepared = parts.flatMap(\.1)
        batch.refused += parts.flatMap(\.2)
        prepared = try await self.writable(prepared, access: access, refusing: &batch)
        return PreparedImport(candidates: prepared, batch: batch, access: access, audit: audit)
    }

    /// Writes a prepared batch — but the lines whose resource exists already (an earlier run of
    /// the same import wrote it: skipped), whose patient's records were erased, or whose unique
    /// identifier another Patient holds — and runs `commit` (the import's cursor and error lines)
    /// in the same transaction. A failure of the database or the key store fails the whole batch
    /// (nothing written), to be tried again.
    public func commitImport(_ prepared: PreparedImport, commit: @escaping @Sendable (PostgresConnection, ImportedBatch) async throws -> Void)
        async throws -> ImportedBatch
    {
        let (access, audit) = (prepared.access, prepared.audit)
        let limit = self.database.operationTimeout * 2
        let (logger, conflicts) = (self.logger, self.identifierConflicts)
        let candidates = prepared.candidates
        let earlier = prepared.batch
        let organization = access.organization ?? audit.caller.organization ?? ""
        try self.database.disk.requireRoom("import resources")
        let result = try await self.database.withTransaction("import resources") { connection in
            try Self.requireFresh(candidates.map(\.write), within: limit)
            var batch = earlier
            // One batch of an organization's imports at a time: two of its clients importing the
            // same lines meet here, and the second finds the first's rows and skips them.
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\("import:" + organization), 0))", logger: logger)
            // Written before (a resumed or repeated import): skipped.
            var sql = SQLBuilder()
            let text = """
                SELECT r.type || '/' || r.id FROM unnest(\(sql.bind(candidates.map(\.write.type.rawValue)))::text[], \(sql.bind(candidates.map(\.write.id)))::text[]) AS k(type, id)
                JOIN resources r ON r.type = k.type AND r.id = k.id
                """
            // Written before, or earlier in this batch (the same line twice): skipped.
            var seen: Set<String> = []
            for try await key in try await connection.query(sql.query(text), logger: logger).decode(String.self) { seen.insert(key) }
            var writes: [(index: Int, write: PreparedWrite)] = []
            for candidate in candidates {
                if seen.insert("\(candidate.write.type.rawValue)/\(candidate.write.id)").inserted {
                    writes.append(candidate)
                } else {
                    batch.skipped.append(candidate.index)
                }
            }
            // A patient whose records were erased gets none back from an import.
            let erased = try await Self.erasedSubjects(Array(Set(writes.map(\.write.subject))), on: connection, logger: logger)
            batch.refused += writes.filter { erased.contains($0.write.subject) }.map { ($0.index, Self.erasedRefusal) }
            writes.removeAll { erased.contains($0.write.subject) }
            // Unique identifiers: taken by a Patient already, or by an earlier line of the batch.
            // Each conflict with a Patient already there uses one of the organization's import
            // attempts (an answer about a record it may not see, as a single create's 409); once
            // they are spent the batch is not written and the job waits (``ImportThrottled``).
            var holders: [String: String] = [:]
            var conflicting: [String] = []
            let keys = writes.flatMap { $0.write.unique.map { $0.0 + "|" + $0.1 } }
            if !keys.isEmpty {
                let budget = "import:" + organization
                for (key, patient) in try await Self.identifierHolders(keys, on: connection, logger: logger) { holders[key] = patient }
                var ours: Set<String> = []
                var kept: [(index: Int, write: PreparedWrite)] = []
                for write in writes {
                    let own = write.write.unique.map { $0.0 + "|" + $0.1 }
                    if let key = own.first(where: { holders[$0] != nil }), let holder = holders[key] {
                        do throws(AttemptLimiter.Exceeded) {
                            try conflicts?.attempt(budget, what: "conflicting patient identifiers in imports")
                        } catch {
                            throw ImportThrottled(retryAfterSeconds: error.retryAfterSeconds)
                        }
                        batch.refused.append((write.index, Self.identifierConflict(key, holder: holder)))
                        conflicting.append(holder)
                    } else if own.contains(where: { ours.contains($0) }) {
                        let refusal = ResourceError(
                            .conflict, .duplicate, "another Patient of this import has the same identifier", expression: ["Patient.identifier"])
                        batch.refused.append((write.index, refusal))
                    } else {
                        ours.formUnion(own)
                        kept.append(write)
                    }
                }
                writes = kept
            }
            // The patients found by a conflict are named in the trail, as a single create's are.
            if !conflicting.isEmpty {
                let records = AuditRecord.records(
                    of: [], action: .create, interaction: audit.interaction, outcome: .minorFailure, issue: .duplicate, status: 409,
                    caller: audit.caller, resourceType: ResourceType.patient.rawValue, targets: conflicting)
                try await AuditLog.enqueue(records, on: connection, logger: logger)
            }
            let created = writes.compactMap { write -> StoredResource? in
                guard case .create(let stored, _) = write.write.kind else { return nil }
                return stored
            }
            if !writes.isEmpty {
                batch.created = try await Self.applyCreates(
                    writes.map(\.write), auditing: Self.importAuditRecords(created, audit: audit), on: connection, logger: logger)
            }
            try await commit(connection, batch)
            return batch
        }
        access.targets?.cover(result.created.compactMap(\.patientID))
        return result
    }

    static let erasedRefusal = ResourceError(.gone, .deleted, "the records of this patient were erased: an import does not write them again")

    /// The subjects among `subjects` with an erased data key.
    static func erasedSubjects(_ subjects: [String], on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        guard !subjects.isEmpty else { return [] }
        let rows = try await connection.query(
            "SELECT DISTINCT subject FROM data_keys WHERE subject = ANY(\(subjects)) AND erased_at IS NOT NULL", logger: logger)
        var erased: Set<String> = []
        for try await subject in rows.decode(String.self) { erased.insert(subject) }
        return erased
    }

    /// The key of ``ImportIdentity`` for `organization`'s imports: derived from the hub's
    /// blind-index key (a blind index of the organization in a domain of its own), so that only
    /// the hub can compute an import's ids.
    public func importKey(organization: String) async throws -> [UInt8] {
        try await self.indexer.blindIndexes([organization], .exact, "import-ids")[0]
    }

    /// The prepared writes the caller may make: the whole batch checked at once, and when that
    /// fails, each line with the batch's new Patients (which it may file records under), so that
    /// only the lines at fault are refused.
    private func writable(
        _ prepared: [(index: Int, write: PreparedWrite)], access: RecordAccess, refusing batch: inout ImportedBatch
    ) async throws -> [(index: Int, write: PreparedWrite)] {
        do {
            try await self.checkWritable(prepared.map(\.write), access: access)
            return prepared
        } catch is ResourceError {
            let patients = prepared.filter { $0.write.type == .patient }.map(\.write)
            var allowed: [(index: Int, write: PreparedWrite)] = []
            for line in prepared {
                do {
                    try await self.checkWritable(line.write.type == .patient ? [line.write] : patients + [line.write], access: access)
                    allowed.append(line)
                } catch let error as ResourceError {
                    batch.refused.append((line.index, error))
                }
            }
            return allowed
        }
    }

    /// One audit record per patient whose records a batch wrote.
    static func importAuditRecords(_ created: [StoredResource], audit: AuditContext) -> [AuditRecord] {
        let types = Set(created.map(\.type))
        return AuditRecord.records(
            of: created, action: .create, interaction: audit.interaction, caller: audit.caller,
            resourceType: types.count == 1 ? types.first?.rawValue : nil)
    }
}
