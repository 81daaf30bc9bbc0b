import HubFHIR
public import HubResourcesCore

/// Finds patients the way documents and messages from other systems name them: by resident ID
/// number, among the patients the caller may see — an organization cannot attach a result or a
/// document to a patient it has no access to, nor learn that such a patient exists.
public struct PatientDirectory: Sendable {
    let store: any ResourceStore
    let residentIDSystem: String

    public init(store: any ResourceStore, residentIDSystem: String) {
        self.store = store
        self.residentIDSystem = residentIDSystem
    }

    /// The id of the Patient with resident ID number `number` that `access` sees, if any.
    public func patient(residentID number: String, access: RecordAccess) async throws -> String? {
        let query = try SearchQuery(
            type: .patient, parameters: [("identifier", "\(self.residentIDSystem)|\(number)"), ("_count", "2")], lenient: false)
        return try await self.store.search(query, access: access).resources.first?.id
    }
}
