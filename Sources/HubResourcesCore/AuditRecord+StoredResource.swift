public import Foundation
public import HubAuditCore
public import HubFHIR

extension AuditRecord {
    /// The audit records of one interaction that touched `resources`: one per patient whose
    /// data it returned or wrote (IHE BALP), each naming that patient's resources with their
    /// versions, plus one for resources in no patient's compartment; one record without
    /// entities when there were no resources (a search that found nothing, a failure).
    /// Each of `targets` — patients the request aimed at (``AuditTargets``) — that none of the
    /// resources belongs to gets a record without entities instead: a refused or empty-handed
    /// attempt appears in that patient's access history.
    public static func records(
        of resources: [StoredResource],
        action: Action,
        interaction: String,
        outcome: Outcome = .success,
        issue: OperationOutcome.Issue.IssueType? = nil,
        status: Int? = nil,
        caller: Caller,
        resourceType: String?,
        parameters: [String] = [],
        targets: [String] = [],
        at time: Date = Date()
    ) -> [AuditRecord] {
        var order: [String?] = []
        var byPatient: [String?: [String]] = [:]
        for resource in resources {
            if byPatient[resource.patientID] == nil { order.append(resource.patientID) }
            byPatient[resource.patientID, default: []].append(resource.versionedReference)
        }
        for patient in targets where byPatient[patient] == nil {
            byPatient[patient] = []
            order.append(patient)
        }
        if order.isEmpty { order = [nil] }
        return order.map { patient in
            AuditRecord(
                time: time,
                action: action,
                interaction: interaction,
                outcome: outcome,
                issue: issue,
                status: status,
                caller: caller,
                patient: patient,
                resourceType: resourceType,
                entities: byPatient[patient] ?? [],
                parameters: parameters
            )
        }
    }
}
