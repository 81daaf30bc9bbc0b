import Foundation
public import HubAudit
import HubFHIR
import HubKeys
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

    /// Writes the creates of `operations` that pass every check a single create passes, and
    /// runs `commit` (the import's cursor and error lines) in the same transaction. A line that
    /// fails a check is refused alone; a failure of the database or the key store fails the
    /// whole batch (nothing written), to be tried again.
    ///
    /// Every operation must be a create; an id given is kept (the import's namespaced ids), and a
    /// resource that already exists with it is skipped, not written again.
    public func importCreates(
        _ operations: [WriteOperation], access: RecordAccess, audit: AuditContext,
        commit: @escaping @Sendable (PostgresConnection, ImportedBatch) async throws -> Void
    ) async throws -> ImportedBatch {
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
        try await self.ring.prepareDataKeys(for: classified.compactMap(\.write.subject))
        let writer = access.organization ?? audit.caller.organization
        var prepared: [(index: Int, write: PreparedWrite)] = []
        for (index, write) in classified {
            do {
                prepared.append((index, try await self.prepare(write, writer: writer, emergencyPatient: nil)))
            } catch let error as ResourceError {
                batch.refused.append((index, error))
            }
        }
        prepared = try await self.writable(prepared, access: access, refusing: &batch)
        // Past the organization's budget of identifier conflicts, its Patients with unique
        // identifiers are refused before the check, as single creates are (429 there).
        if let organization = access.organization, prepared.contains(where: { !$0.write.unique.isEmpty }) {
            do {
                try self.identifierConflicts?.check(organization, what: "conflicting patient identifiers")
            } catch {
                let refusal = ResourceError(.conflict, .throttled, "\(error): Patients with unique identifiers are not imported for now")
                batch.refused += prepared.filter { !$0.write.unique.isEmpty }.map { ($0.index, refusal) }
                prepared.removeAll { !$0.write.unique.isEmpty }
            }
        }
        let limit = self.database.operationTimeout * 2
        let logger = self.logger
        let candidates = prepared
        let earlier = batch
        try self.database.disk.requireRoom("import resources")
        let result = try await self.database.withTransaction("import resources") { connection in
            try Self.requireFresh(candidates.map(\.write), within: limit)
            var batch = earlier
            // Written before (a resumed or repeated import): skipped.
            var sql = SQLBuilder()
            let text = """
                SELECT r.type || '/' || r.id FROM unnest(\(sql.bind(candidates.map(\.write.type.rawValue)))::text[], \(sql.bind(candidates.map(\.write.id)))::text[]) AS k(type, id)
                JOIN resources r ON r.type = k.type AND r.id = k.id
                """
            var existing: Set<String> = []
            for try await key in try await connection.query(sql.query(text), logger: logger).decode(String.self) { existing.insert(key) }
            var writes: [(index: Int, write: PreparedWrite)] = []
            for candidate in candidates {
                if existing.contains("\(candidate.write.type.rawValue)/\(candidate.write.id)") {
                    batch.skipped.append(candidate.index)
                } else {
                    writes.append(candidate)
                }
            }
            // Unique identifiers: taken by a Patient already, or by an earlier line of the batch.
            let keys = writes.flatMap { $0.write.unique.map { $0.0 + "|" + $0.1 } }
            if !keys.isEmpty {
                var holders: [String: String] = [:]
                for (key, patient) in try await Self.identifierHolders(keys, on: connection, logger: logger) { holders[key] = patient }
                var kept: [(index: Int, write: PreparedWrite)] = []
                for write in writes {
                    let own = write.write.unique.map { $0.0 + "|" + $0.1 }
                    if let key = own.first(where: { holders[$0] != nil }), let holder = holders[key] {
                        batch.refused.append((write.index, Self.identifierConflict(key, holder: holder)))
                    } else {
                        for key in own { holders[key] = write.write.id }
                        kept.append(write)
                    }
                }
                writes = kept
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
        // Conflicts count against the organization, as a single create's do.
        if let organization = access.organization {
            for (_, error) in result.refused where error.conflictingPatient != nil { self.identifierConflicts?.count(organization) }
        }
        access.targets?.cover(result.created.compactMap(\.patientID))
        return result
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
