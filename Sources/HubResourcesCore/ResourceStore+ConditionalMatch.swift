import HubAuditCore
public import HubFHIR

/// R4's conditional interactions (create with `If-None-Exist`/`ifNoneExist`, update, patch and
/// delete on `[type]?[criteria]`, alone or in a Bundle) all ask one question, answered here once.
extension ResourceStore {
    /// The one record `criteria` match among what `access` sees, or nil; more than one is 412.
    /// The criteria are search criteria only (no paging, sorting, includes, totals or
    /// summaries: 400, naming `expression`). The patients the criteria reach are noted for the
    /// audit trail whatever happens next, so a refused write is in their history too.
    public func conditionalMatch(
        _ type: ResourceType, criteria: [(String, String)], access: RecordAccess, expression: String
    ) async throws -> StoredResource? {
        var query = try SearchQuery(type: type, parameters: criteria, lenient: false)
        guard query.isCriteriaOnly else {
            throw ResourceError(
                .invalid, .invalid,
                "conditional criteria are search criteria only (no _count, _sort, _include, _revinclude, _total, _summary, _elements or paging)",
                expression: [expression])
        }
        query.count = 2
        let matches = try await self.search(query, access: access).resources
        access.targets?.note(matches.compactMap(\.patientID))
        guard matches.count < 2 else {
            throw ResourceError(.preconditionFailed, .multipleMatches, "the criteria match more than one \(type.rawValue)", expression: [expression])
        }
        return matches.first
    }
}
