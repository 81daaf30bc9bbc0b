public import Foundation

/// Whether an organization had a basis to read a patient's records — a care relationship, a
/// consent, a share, its own records, a population grant of the commission in force then. The
/// audit log does not hold these facts (the record store does), so a report asks through this
/// seam; `HubResources` implements it over its tables.
public protocol AccessBasisCheck: Sendable {
    /// Of `reads`, the positions of those nothing in the hub's access tables explains.
    func unexplained(_ reads: [AuditedRead]) async throws -> [Int]
}

/// A successful read of a patient's records as the audit trail holds it.
public struct AuditedRead: Sendable, Equatable {
    public var organization: String
    public var patient: String
    /// `Type/id/_history/version`, as audit records name them.
    public var entities: [String]
    public var time: Date
    /// HL7 PurposeOfUse: a population grant explains only reads for its own purpose.
    public var purposeOfUse: String

    public init(organization: String, patient: String, entities: [String], time: Date, purposeOfUse: String) {
        self.organization = organization
        self.patient = patient
        self.entities = entities
        self.time = time
        self.purposeOfUse = purposeOfUse
    }
}
