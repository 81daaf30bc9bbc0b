public import Foundation
public import HubAuditCore
public import HubFHIR

/// Versioned storage of FHIR resources.
///
/// Every change writes a new version in one transaction; nothing is overwritten. Implementations
/// encrypt what they store and validate nothing (``ResourceValidator`` does, before).
public protocol ResourceStore: Sendable {
    /// Stores a new resource under a server-assigned id, as version 1.
    ///
    /// Every call takes the ``RecordAccess`` of its caller: what the caller may not see does not
    /// exist for it (`.notFound`), and it may write only into patient records it may see. Every
    /// write takes the ``AuditContext`` it is audited under: its audit records commit in the same
    /// transaction as the data.
    func create(_ resource: JSONObject, type: ResourceType, access: RecordAccess, audit: AuditContext) async throws -> StoredResource

    /// The current version; `.notFound` if there never was one, `.gone` if it was deleted.
    func read(_ type: ResourceType, id: String, access: RecordAccess) async throws -> StoredResource

    /// One version, deleted or not; `.notFound` if it does not exist.
    func read(_ type: ResourceType, id: String, version: Int, access: RecordAccess) async throws -> StoredResource

    /// Stores a new version. With `ifMatch`, only when the current version is that one
    /// (`.preconditionFailed` otherwise), so that of concurrent updates exactly one wins.
    func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, access: RecordAccess, audit: AuditContext) async throws
        -> StoredResource

    /// Records a deletion as a new version; deleting a deleted resource changes nothing.
    func delete(_ type: ResourceType, id: String, access: RecordAccess, audit: AuditContext) async throws -> StoredResource

    /// Versions of one resource, newest first.
    func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow, access: RecordAccess) async throws -> [StoredResource]

    /// Versions of all resources of a type (or of every type, for nil), newest first, written at
    /// or after `since`; one page, continued from `cursor` (a position this store returned).
    func history(_ type: ResourceType?, window: HistoryWindow, count: Int, after cursor: String?, access: RecordAccess) async throws -> (
        versions: [StoredResource], next: String?
    )

    /// Current versions matching a search, one page at a time.
    func search(_ query: SearchQuery, access: RecordAccess) async throws -> SearchResult

    /// A patient's case history: the Patient and every current resource in their compartment
    /// that `filter` keeps, one page at a time (keyset by time and `Type/id`).
    func everything(patientID: String, count: Int, after cursor: String?, filter: CaseHistoryFilter, access: RecordAccess) async throws
        -> SearchResult

    /// `Observation/$lastn`: a patient's most recent `max` Observations of each code among those
    /// matching `query` (an Observation search: `category`, `code`, `date`, `status`, …; when it
    /// names codes, of those codes only), newest first by effective time, within what `access`
    /// sees.
    func lastN(_ query: SearchQuery, patientID: String, max: Int, access: RecordAccess) async throws -> [StoredResource]

    /// Relates the caller's organization to a patient it registered (conditional create by the
    /// resident ID number matched an existing Patient): a care relationship, `registration`.
    func register(patientID: String, access: RecordAccess) async throws

    /// Applies writes atomically, in order: all commit or none.
    func transaction(_ operations: [WriteOperation], access: RecordAccess, audit: AuditContext) async throws -> [StoredResource]

    /// `operation` with its references as the store will keep them (absolute references on the
    /// hub's own base made relative): what a decorator's rules must judge, so that they see the
    /// very references the store files and relates.
    func canonical(_ operation: WriteOperation) -> WriteOperation
}

/// One write of a transaction.
/// `Patient/$everything`'s `_since` and `_type` (FHIR R4 Patient-everything).
public struct CaseHistoryFilter: Sendable, Equatable {
    /// Only resources last changed at or after this moment.
    public var since: Date?
    /// Only resources of these types (the Patient too only when it is among them).
    public var types: Set<ResourceType>?

    public init(since: Date? = nil, types: Set<ResourceType>? = nil) {
        self.since = since
        self.types = types
    }
}

extension ResourceStore {
    /// The whole case history, one page at a time.
    public func everything(patientID: String, count: Int, after cursor: String?, access: RecordAccess) async throws -> SearchResult {
        try await self.everything(patientID: patientID, count: count, after: cursor, filter: CaseHistoryFilter(), access: access)
    }

    /// A create is a transaction of one write: every store implements it so.
    public func create(_ resource: JSONObject, type: ResourceType, access: RecordAccess, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.create(type, id: nil, resource)], access: access, audit: audit)[0]
    }

    public func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, access: RecordAccess, audit: AuditContext) async throws
        -> StoredResource
    {
        try await self.transaction([.update(type, id: id, resource, ifMatch: ifMatch)], access: access, audit: audit)[0]
    }

    public func delete(_ type: ResourceType, id: String, access: RecordAccess, audit: AuditContext) async throws -> StoredResource {
        try await self.transaction([.delete(type, id: id)], access: access, audit: audit)[0]
    }
}

public enum WriteOperation: Sendable {
    /// Create; `id` is nil for a server-assigned id, or one the caller assigned (a transaction
    /// Bundle assigns ids first, to resolve `urn:uuid:` references between its entries).
    case create(ResourceType, id: String?, JSONObject)
    case update(ResourceType, id: String, JSONObject, ifMatch: Int?)
    case delete(ResourceType, id: String)

    /// The type written.
    public var type: ResourceType {
        switch self {
        case .create(let type, _, _), .update(let type, _, _, _), .delete(let type, _): type
        }
    }
}
