import Foundation
public import HubAuditCore
public import HubFHIR
public import HubResourcesCore

/// A ``ResourceStore`` that applies ``WriteRule``s: every write of a governed type is expanded
/// into the writes it entails, and all of them commit in one transaction or none do. Reads pass
/// through unchanged.
///
/// Being a store itself, it serves the REST routes and transaction Bundles alike.
public struct WorkflowStore: ResourceStore {
    let base: any ResourceStore
    let rules: [ResourceType: any WriteRule]

    /// The rules the hub enforces; patients are named by resident ID numbers of `residentIDSystem`.
    public static func hubRules(residentIDSystem: String, addresses: OutboundAddressPolicy) -> [any WriteRule] {
        [AppointmentBooking(), ReferralWorkflow(), SubscriptionRule(addresses: addresses), ClinicalDocumentRule(residentIDSystem: residentIDSystem)]
    }

    public func canonical(_ operation: WriteOperation) -> WriteOperation {
        self.base.canonical(operation)
    }

    public init(base: any ResourceStore, rules: [any WriteRule]) {
        self.base = base
        self.rules = Dictionary(rules.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func transaction(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource] {
        guard operations.contains(where: { self.rules[$0.type] != nil }) else {
            return try await self.base.transaction(operations, access: access, audit: audit)
        }
        // Creates get their ids now, so that what a rule derives can name them.
        var expanded: [WriteOperation] = []
        var origin: [(original: Int, derived: DerivedWrite?)] = []
        for (index, operation) in operations.enumerated() {
            // The rules judge the references the store will file (no absolute spelling slips past).
            var operation = self.base.canonical(operation)
            if case .create(let type, nil, let resource) = operation {
                operation = .create(type, id: UUID().uuidString.lowercased(), resource)
            }
            guard let rule = self.rules[operation.type] else {
                expanded.append(operation)
                origin.append((index, nil))
                continue
            }
            operation = try await rule.admit(operation, store: self.base, access: access)
            let derived = try await rule.expand(operation, store: self.base, access: access)
            expanded.append(operation)
            origin.append((index, nil))
            for write in derived {
                expanded.append(write.operation)
                origin.append((index, write))
            }
        }
        // What a permitted write entails is permitted with it: booking with Appointment scopes
        // frees and takes Slots (the caller's own writes were checked against its scopes).
        for operation in operations { try access.require(operation.type, write: true) }
        var entailed = access
        entailed.writableTypes?.formUnion(origin.compactMap { $0.derived?.operation.type })
        func changed(_ operation: WriteOperation?) -> String? {
            switch operation {
            case .update(let type, let id, _, _)?, .delete(let type, let id)?: "\(type.rawValue)/\(id)"
            case .create?, nil: nil
            }
        }
        // Only the rule's own change is entailed: a Slot the caller also writes itself in the
        // same Bundle is judged as the caller's write (only its publisher changes it), or a
        // booking would let the caller rewrite another hospital's Slot as it liked.
        let written = Set(zip(origin, expanded).compactMap { $0.0.derived == nil ? changed($0.1) : nil })
        entailed.entailedWrites = Set(origin.compactMap { changed($0.derived?.operation) }).subtracting(written)
        let results: [StoredResource]
        do {
            results = try await self.base.transaction(expanded, access: entailed, audit: audit)
        } catch var error as ResourceError {
            guard let entry = error.entry, entry < origin.count else { throw error }
            if let derived = origin[entry].derived, [.preconditionFailed, .notFound, .gone].contains(error.code) {
                throw ResourceError(.conflict, .conflict, derived.conflict, expression: derived.expression.map { [$0] })
            }
            // Number the failing write as the caller did.
            let prefix = "entry \(entry): "
            if error.diagnostics.hasPrefix(prefix) {
                let rest = String(error.diagnostics.dropFirst(prefix.count))
                error.diagnostics = operations.count > 1 ? "entry \(origin[entry].original): \(rest)" : rest
            }
            throw error
        }
        return zip(origin, results).filter { $0.0.derived == nil }.map(\.1)
    }

    public func read(_ type: ResourceType, id: String, access: RecordAccess) async throws -> StoredResource {
        try await self.base.read(type, id: id, access: access)
    }

    public func read(_ type: ResourceType, id: String, version: Int, access: RecordAccess) async throws -> StoredResource {
        try await self.base.read(type, id: id, version: version, access: access)
    }

    public func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow, access: RecordAccess) async throws -> [StoredResource] {
        try await self.base.history(type, id: id, count: count, window: window, access: access)
    }

    public func history(_ type: ResourceType?, window: HistoryWindow, count: Int, after cursor: String?, access: RecordAccess) async throws -> (
        versions: [StoredResource], next: String?
    ) {
        try await self.base.history(type, window: window, count: count, after: cursor, access: access)
    }

    public func search(_ query: SearchQuery, access: RecordAccess) async throws -> SearchResult {
        try await self.base.search(query, access: access)
    }

    public func everything(
        patientID: String, count: Int, after cursor: String?, filter: CaseHistoryFilter, access: RecordAccess
    ) async throws -> SearchResult {
        try await self.base.everything(patientID: patientID, count: count, after: cursor, filter: filter, access: access)
    }

    public func lastN(_ query: SearchQuery, patientID: String, max: Int, access: RecordAccess) async throws -> [StoredResource] {
        try await self.base.lastN(query, patientID: patientID, max: max, access: access)
    }

    public func register(patientID: String, access: RecordAccess) async throws {
        try await self.base.register(patientID: patientID, access: access)
    }
}
