/// Whether an organization had a basis to read a patient's records — a care relationship, a
/// consent, a share, its own records. The audit log does not hold these facts (the record store
/// does), so a report asks through this seam; `HubResources` implements it over its tables.
public protocol AccessBasisCheck: Sendable {
    /// Of `reads`, the positions of those nothing in the hub's access tables explains now.
    /// `entities` are `Type/id/_history/version` as audit records name them.
    func unexplained(_ reads: [(organization: String, patient: String, entities: [String])]) async throws -> [Int]
}
