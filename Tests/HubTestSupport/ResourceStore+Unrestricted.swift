import Foundation
public import HubAudit
public import HubFHIR
public import HubResources

/// The store as the hub's own tools see it (``RecordAccess/unrestricted``), for tests of the store
/// itself; the HTTP layer always passes the caller's access, so production code has no such
/// shortcut.
extension ResourceStore {
    public func create(_ resource: JSONObject, type: ResourceType, audit: AuditContext) async throws -> StoredResource {
        try await self.create(resource, type: type, access: .unrestricted, audit: audit)
    }

    public func read(_ type: ResourceType, id: String) async throws -> StoredResource {
        try await self.read(type, id: id, access: .unrestricted)
    }

    public func read(_ type: ResourceType, id: String, version: Int) async throws -> StoredResource {
        try await self.read(type, id: id, version: version, access: .unrestricted)
    }

    public func update(_ resource: JSONObject, type: ResourceType, id: String, ifMatch: Int?, audit: AuditContext) async throws -> StoredResource {
        try await self.update(resource, type: type, id: id, ifMatch: ifMatch, access: .unrestricted, audit: audit)
    }

    public func delete(_ type: ResourceType, id: String, audit: AuditContext) async throws -> StoredResource {
        try await self.delete(type, id: id, access: .unrestricted, audit: audit)
    }

    public func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow = .all) async throws -> [StoredResource] {
        try await self.history(type, id: id, count: count, window: window, access: .unrestricted)
    }

    public func history(_ type: ResourceType?, window: HistoryWindow = .all, count: Int, after cursor: String?) async throws -> (
        versions: [StoredResource], next: String?
    ) {
        try await self.history(type, window: window, count: count, after: cursor, access: .unrestricted)
    }

    public func search(_ query: SearchQuery) async throws -> SearchResult {
        try await self.search(query, access: .unrestricted)
    }

    public func everything(patientID: String, count: Int, after cursor: String?) async throws -> SearchResult {
        try await self.everything(patientID: patientID, count: count, after: cursor, access: .unrestricted)
    }

    public func transaction(_ operations: [WriteOperation], audit: AuditContext) async throws -> [StoredResource] {
        try await self.transaction(operations, access: .unrestricted, audit: audit)
    }
}
