import Foundation
public import HubAudit
public import HubFHIR
public import HubResources

/// A ``ResourceStore`` in memory, for unit tests of what stands on the store — the workflow
/// rules, intake of HL7 v2 and CDA, subscription matching — in milliseconds and without
/// PostgreSQL. The integration tests run the same code over `PostgresResourceStore`.
///
/// It keeps versions and transactions (all or nothing) and files each record under its patient
/// (`PatientCompartment`), but it is not an access-control implementation: `RecordAccess` is
/// ignored (every caller sees everything). Searches support `_id`, token, reference and
/// string parameters (read and matched as the store does: `SearchValues`, `SearchKeys`); other clauses are refused (a test that needs them belongs
/// with the integration tests).
public actor InMemoryResourceStore: ResourceStore {
    struct Record {
        var versions: [StoredResource]
        var current: StoredResource { self.versions[self.versions.count - 1] }
    }

    var records: [String: Record] = [:]
    /// Every transaction that committed, in order (the writes' types and ids), for tests to
    /// check what a rule entailed.
    public private(set) var committed: [[String]] = []

    public init() {}

    /// The classification `PostgresResourceStore` applies: ids, canonical references, patients.
    let classifier = WriteClassifier()

    public nonisolated func canonical(_ operation: WriteOperation) -> WriteOperation { self.classifier.canonical(operation) }

    public func transaction(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource] {
        // Applied to a copy, kept only if every write succeeds: all or nothing.
        var working = self.records
        var results: [StoredResource] = []
        let now = Date()
        for (index, operation) in operations.enumerated() {
            do {
                results.append(try Self.apply(try self.classifier.classify(operation), to: &working, at: now))
            } catch var error as ResourceError where operations.count > 1 {
                error.diagnostics = "entry \(index): \(error.diagnostics)"
                throw error
            }
        }
        self.records = working
        self.committed.append(results.map { "\($0.type.rawValue)/\($0.id)" })
        return results
    }

    static func apply(_ write: ClassifiedWrite, to records: inout [String: Record], at time: Date) throws -> StoredResource {
        switch write.operation {
        case .create(let type, let id, let resource):
            let id = id ?? UUID().uuidString.lowercased()
            guard records["\(type.rawValue)/\(id)"] == nil else { throw ResourceError(.conflict, .duplicate, "\(type.rawValue)/\(id) exists") }
            let stored = WriteClassifier.stamp(resource, type: type, id: id, version: 1, at: time, patient: write.patient).0
            records["\(type.rawValue)/\(id)"] = Record(versions: [stored])
            return stored
        case .update(let type, let id, let resource, let ifMatch):
            guard var record = records["\(type.rawValue)/\(id)"] else {
                throw ResourceError(.notFound, .notFound, "\(type.rawValue)/\(id) does not exist")
            }
            if let ifMatch, ifMatch != record.current.versionID {
                throw ResourceError(
                    .preconditionFailed, .conflict, "If-Match names version \(ifMatch) but the current version is \(record.current.versionID)")
            }
            let stored = WriteClassifier.stamp(resource, type: type, id: id, version: record.current.versionID + 1, at: time, patient: write.patient)
                .0
            record.versions.append(stored)
            records["\(type.rawValue)/\(id)"] = record
            return stored
        case .delete(let type, let id):
            guard var record = records["\(type.rawValue)/\(id)"] else {
                throw ResourceError(.notFound, .notFound, "\(type.rawValue)/\(id) does not exist")
            }
            guard !record.current.isDeleted else { return record.current }
            let deleted = StoredResource(
                type: type, id: id, versionID: record.current.versionID + 1, lastUpdated: time, isDeleted: true, resource: nil,
                patientID: record.current.patientID
            )
            record.versions.append(deleted)
            records["\(type.rawValue)/\(id)"] = record
            return deleted
        }
    }

    public func read(_ type: ResourceType, id: String, access: RecordAccess) async throws -> StoredResource {
        guard let record = self.records["\(type.rawValue)/\(id)"] else {
            throw ResourceError(.notFound, .notFound, "\(type.rawValue)/\(id) does not exist")
        }
        guard !record.current.isDeleted else { throw ResourceError(.gone, .deleted, "\(type.rawValue)/\(id) was deleted") }
        return record.current
    }

    public func read(_ type: ResourceType, id: String, version: Int, access: RecordAccess) async throws -> StoredResource {
        guard let stored = self.records["\(type.rawValue)/\(id)"]?.versions.first(where: { $0.versionID == version }) else {
            throw ResourceError(.notFound, .notFound, "\(type.rawValue)/\(id) has no version \(version)")
        }
        return stored
    }

    public func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow, access: RecordAccess) async throws -> [StoredResource] {
        guard let record = self.records["\(type.rawValue)/\(id)"] else {
            throw ResourceError(.notFound, .notFound, "\(type.rawValue)/\(id) does not exist")
        }
        return Array(Self.inWindow(record.versions, window).reversed().prefix(count))
    }

    /// The versions of one record that `window` keeps (each replaced by the next).
    static func inWindow(_ versions: [StoredResource], _ window: HistoryWindow) -> [StoredResource] {
        versions.indices.filter { index in
            window.contains(written: versions[index].lastUpdated, replaced: index + 1 < versions.count ? versions[index + 1].lastUpdated : nil)
        }.map { versions[$0] }
    }

    public func history(_ type: ResourceType?, window: HistoryWindow, count: Int, after cursor: String?, access: RecordAccess) async throws -> (
        versions: [StoredResource], next: String?
    ) {
        let versions = self.records.values.flatMap { Self.inWindow($0.versions, window) }.filter { version in type == nil || version.type == type }
        return (Array(versions.sorted { $0.lastUpdated > $1.lastUpdated }.prefix(count)), nil)
    }

    public func search(_ query: SearchQuery, access: RecordAccess) async throws -> SearchResult {
        var matches: [StoredResource] = []
        for record in self.records.values where record.current.type == query.type && !record.current.isDeleted {
            guard let resource = record.current.resource else { continue }
            var all = true
            for clause in query.clauses where !(try Self.matches(clause, resource, type: query.type, id: record.current.id)) {
                all = false
                break
            }
            if all { matches.append(record.current) }
        }
        matches.sort { $0.id < $1.id }
        return SearchResult(resources: Array(matches.prefix(query.count)), nextCursor: nil, total: query.wantsTotal ? matches.count : nil)
    }

    static func matches(_ clause: SearchQuery.Clause, _ resource: JSONObject, type: ResourceType, id: String) throws -> Bool {
        func values(_ param: String) -> [JSONValue] {
            type.searchParameter(named: param).map { SearchValues.values(of: resource, for: $0) } ?? []
        }
        switch clause {
        case .id(let ids):
            return ids.contains(id)
        case .token(let param, let wanted, let negated, _):
            let present = values(param).flatMap(SearchValues.tokens(of:))
            let found = wanted.contains { system, code in
                present.contains { (system == nil || $0.0 == system) && (code == nil || $0.1 == code) }
            }
            return found != negated
        case .reference(let param, let wanted):
            let present = values(param).compactMap { $0.objectValue?["reference"]?.stringValue }
            return wanted.contains { type, id in present.contains { $0 == "\(type ?? "")/\(id)" || (type == nil && $0.hasSuffix("/\(id)")) } }
        case .string(let param, let wanted, let match):
            // The keys the store indexes and searches (SearchKeys): the same matching, without
            // blind indexes.
            let stored = Set(values(param).compactMap(\.stringValue).flatMap { SearchKeys.indexTexts(of: $0) })
            return wanted.contains { value in
                SearchKeys.searchTexts(value, match: match).allSatisfy { group in group.contains(where: stored.contains) }
            }
        default:
            throw ResourceError(.invalid, .notSupported, "the in-memory store supports _id, token, reference and string searches only")
        }
    }

    public func everything(
        patientID: String, count: Int, after cursor: String?, filter: CaseHistoryFilter, access: RecordAccess
    ) async throws -> SearchResult {
        let found = self.records.values.map(\.current)
            .filter { resource in
                !resource.isDeleted && resource.patientID == patientID
                    && filter.since.map { resource.lastUpdated >= $0 } ?? true
                    && filter.types.map { $0.contains(resource.type) } ?? true
            }
            .sorted { $0.id < $1.id }
        return SearchResult(resources: Array(found.prefix(count)), nextCursor: nil, total: nil)
    }

    public func lastN(_ query: SearchQuery, patientID: String, max: Int, access: RecordAccess) async throws -> [StoredResource] {
        throw ResourceError(.invalid, .notSupported, "the in-memory store does not implement $lastn")
    }

    public func register(patientID: String, access: RecordAccess) async throws {}
}
