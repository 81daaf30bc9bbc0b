public import Foundation
public import HubAudit

extension AuditRecord {
    /// The audit records of one interaction that touched `resources`: one per patient whose
    /// data it returned or wrote (IHE BALP), each naming that patient's resources with their
    /// versions, plus one for resources in no patient's compartment; one record without
    /// entities when there were no resources (a search that found nothing, a failure).
    public static func records(
        of resources: [StoredResource],
        action: Action,
        interaction: String,
        status: Int,
        caller: Caller,
        resourceType: String?,
        parameters: [String] = [],
        at time: Date = Date()
    ) -> [AuditRecord] {
        var order: [String?] = []
        var byPatient: [String?: [String]] = [:]
        for resource in resources {
            if byPatient[resource.patientID] == nil { order.append(resource.patientID) }
            byPatient[resource.patientID, default: []].append(resource.versionedReference)
        }
        if order.isEmpty { order = [nil] }
        return order.map { patient in
            AuditRecord(
                time: time,
                action: action,
                interaction: interaction,
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
