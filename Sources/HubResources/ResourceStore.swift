public import Foundation
public import HubAudit
public import HubFHIR

/// Versioned storage of FHIR resources.
///
/// Every change writes a new version in one transaction; nothing is overwritten. Implementations
/// encrypt what they store and validate nothing (``ResourceValidator`` does, before).
public protocol ResourceStore: Sendable {
    /// Stores a new resource under a server-assigned id, as version 1.
    ///
    /// Every write takes the ``AuditContext`` it is audited under: its audit records commit in
    /// the same transaction as the data.
    func create(_ resource: JSONObject, type: ResourceType, audit: AuditContext) async throws -> StoredResource

    /// The current version; `.notFound` if there never was one, `.gone` if it was deleted.
    func read(_ type: ResourceType, id: String) async throws -> StoredResource

    /// One version, deleted or not; `.notFound` if it does not exist.
    func read(_ type: ResourceType, id: String, version: Int) async throws -> StoredResource

    /// Stores a new version. With `ifMatch`, only when the current version is that one
    /// (`.preconditionFailed` otherwise), so that of concurrent updates exactly one wins.
    func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, audit: AuditContext) async throws -> StoredResource

    /// Records a deletion as a new version; deleting a deleted resource changes nothing.
    func delete(_ type: ResourceType, id: String, audit: AuditContext) async throws -> StoredResource

    /// Versions of one resource, newest first.
    func history(_ type: ResourceType, id: String, count: Int) async throws -> [StoredResource]

    /// Versions of all resources of a type (or of every type, for nil), newest first, written at
    /// or after `since`; one page, continued from `cursor` (a position this store returned).
    func history(_ type: ResourceType?, since: Date?, count: Int, after cursor: String?) async throws -> (versions: [StoredResource], next: String?)

    /// Current versions matching a search, one page at a time.
    func search(_ query: SearchQuery) async throws -> SearchResult

    /// A patient's case history: the Patient and every current resource in their compartment,
    /// one page at a time (keyset by `Type/id`).
    func everything(patientID: String, count: Int, after cursor: String?) async throws -> SearchResult

    /// Applies writes atomically, in order: all commit or none.
    func transaction(_ operations: [WriteOperation], audit: AuditContext) async throws -> [StoredResource]
}

/// One write of a transaction.
public enum WriteOperation: Sendable {
    /// Create; `id` is nil for a server-assigned id, or one the caller assigned (a transaction
    /// Bundle assigns ids first, to resolve `urn:uuid:` references between its entries).
    case create(ResourceType, id: String?, JSONObject)
    case update(ResourceType, id: String, JSONObject, ifMatch: Int?)
    case delete(ResourceType, id: String)
}
