import Foundation
public import HubAudit
import HubConfig
import HubCrypto
import HubFHIR
import HubKeys
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Writes: classification's results prepared (sealed, indexed), checked, and applied in one
/// transaction with their audit records and access facts.
extension PostgresResourceStore {
    /// Applies writes atomically, in order: all commit or none (a transaction Bundle).
    ///
    /// Encryption and blind indexes need the key store, so each write is prepared first, outside
    /// the database transaction; the transaction then only writes rows (and seals updates, whose
    /// version number it decides, with data keys already cached). The audit records of the
    /// writes are queued in the same transaction (in the same statement, for creates).
    public func transaction(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource] {
        try access.requireWriter()
        // Ids first, so every data key the writes need is fetched or made in one go; every write
        // classified (canonical references, its patient) before anything else looks at it.
        var classified: [ClassifiedWrite] = []
        for (index, operation) in operations.enumerated() {
            do {
                classified.append(try self.classifier.classify(operation))
            } catch {
                guard operations.count > 1 else { throw error }
                var located = error
                located.diagnostics = "entry \(index): \(error.diagnostics)"
                located.entry = index
                throw located
            }
        }
        // The patients these writes aim at (a new Patient aims at nobody yet).
        access.targets?.note(
            classified.compactMap { write in
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
    func commit(_ prepared: [PreparedWrite], operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource]
    {
        // A full disk leaves its room to the audit records of reads (DiskReserve).
        try self.database.disk.requireRoom("write resources")
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
            let limit = self.database.operationTimeout * 2
            let stored = try await self.database.withConnection("write resources") { connection in
                try Self.requireFresh(writes, within: limit)
                return try await Self.applyCreates(writes, auditing: records, on: connection, logger: logger)
            }
            access.targets?.cover(stored.compactMap(\.patientID))
            return stored
        }
        let limit = self.database.operationTimeout * 2
        let stored = try await self.database.withTransaction("write resources") { connection in
            try Self.requireFresh(writes, within: limit)
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

    /// Refuses (503, nothing written) creates stamped longer than `limit` (two database
    /// deadlines: the access check's and the write's own wait for a connection) ago when their
    /// transaction's connection is in hand. A create's `lastUpdated` is taken before it is sealed
    /// and checked; its transaction then has one more deadline to commit — so no version stamped
    /// at a time T commits later than three deadlines after it, the bound a bulk export waits for
    /// before it reads as at T (docs/bulk-data.md).
    static func requireFresh(_ writes: [PreparedWrite], within limit: Duration) throws(StorageError) {
        let now = Date()
        for write in writes {
            guard case .create(let stored, _) = write.kind else { continue }
            if now.timeIntervalSince(stored.lastUpdated) * 1_000 > Double(limit.wholeMilliseconds) {
                throw StorageError(.unavailable, "a write waited longer than the database deadline before it reached the database")
            }
        }
    }

    /// How the results of `operations` are audited: one record per patient written to.
    static func auditRecords(for operations: [WriteOperation], audit: AuditContext) -> @Sendable ([StoredResource]) -> [AuditRecord] {
        let actions = Set(
            operations.map { operation -> AuditRecord.Action in
                switch operation {
                case .create: .create
                case .update: .update
                case .delete: .delete
                }
            })
        let action = actions.count == 1 ? actions.first ?? .execute : .execute
        let types = Set(
            operations.map { operation -> ResourceType in
                switch operation {
                case .create(let type, _, _), .update(let type, _, _, _), .delete(let type, _): type
                }
            })
        return { results in
            AuditRecord.records(
                of: results,
                action: action,
                interaction: audit.interaction,
                caller: audit.caller,
                resourceType: types.count == 1 ? types.first?.rawValue : nil
            )
        }
    }
}
