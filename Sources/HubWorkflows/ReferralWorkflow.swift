public import HubFHIR
public import HubResourcesCore

/// Referrals between tiers of care: organization A refers a patient to organization B with a
/// ServiceRequest and a Task that tracks it (`Task.requester` A, `Task.owner` B, both
/// `Organization/<id>`):
///
/// `requested → received → accepted | rejected → in-progress → completed`, or `cancelled` by A.
///
/// Only B moves a referral forward, only A creates, cancels or withdraws it (403 otherwise);
/// any other change of status is 409; who and what it is about (`requester`, `owner`, `for`,
/// `basedOn`) never change (422). The store shares the Task (owner B) and the ServiceRequest
/// (performer B) with B from the start and relates B to the patient once B accepts
/// (docs/security.md). A Task whose owner is not an organization is not a referral and follows
/// no rule here.
public struct ReferralWorkflow: WriteRule {
    public init() {}

    public var type: ResourceType { .task }

    /// Which status may follow which. `entered-in-error` may follow any, set by the requester.
    public static let transitions: [String: Set<String>] = [
        "draft": ["requested", "cancelled"],
        "requested": ["received", "accepted", "rejected", "cancelled"],
        "received": ["accepted", "rejected", "cancelled"],
        "accepted": ["in-progress", "cancelled"],
        "in-progress": ["completed", "cancelled"],
        "rejected": [], "completed": [], "cancelled": [], "entered-in-error": [],
    ]

    /// Statuses only the requester (A) sets; the owner (B) sets the others.
    public static let requesterStatuses: Set<String> = ["draft", "requested", "cancelled", "entered-in-error"]

    public func expand(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> [DerivedWrite] {
        switch operation {
        case .create(_, _, let task):
            guard let owner = Self.organization(task["owner"]) else { return [] }
            let status = task["status"]?.stringValue ?? ""
            guard status == "requested" || status == "draft" else {
                throw ResourceError(
                    .unprocessable, .businessRule, "a referral starts as requested (or draft), not \(status)", expression: ["Task.status"])
            }
            guard let requester = Self.organization(task["requester"]) else {
                throw ResourceError(.unprocessable, .required, "a referral names its requester (Organization/<id>)", expression: ["Task.requester"])
            }
            if let caller = access.organization, caller != requester {
                throw ResourceError(
                    .forbidden, .forbidden, "a referral is sent by the caller's own organization (Organization/\(caller))",
                    expression: ["Task.requester"])
            }
            guard owner != requester else {
                throw ResourceError(.unprocessable, .businessRule, "a referral goes to another organization", expression: ["Task.owner"])
            }
            return []
        case .update(_, let id, let task, _):
            let current = try await store.read(.task, id: id, access: access)
            guard let before = current.resource, let owner = Self.organization(before["owner"]) else { return [] }
            for element in ["requester", "owner", "for", "basedOn"] where before[element] != task[element] {
                throw ResourceError(.unprocessable, .businessRule, "a referral's \(element) cannot change", expression: ["Task.\(element)"])
            }
            let old = before["status"]?.stringValue ?? ""
            let new = task["status"]?.stringValue ?? ""
            let requester = Self.organization(before["requester"])
            let actor = Self.requesterStatuses.contains(new) ? requester : owner
            if old == new {
                // Other elements (notes, output) are the current holder's to change.
                if let caller = access.organization, caller != owner, caller != requester {
                    throw ResourceError(.forbidden, .forbidden, "only the organizations of a referral change it")
                }
                return []
            }
            if let caller = access.organization, caller != actor {
                let who = Self.requesterStatuses.contains(new) ? "the referring organization" : "the organization it is addressed to"
                throw ResourceError(.forbidden, .forbidden, "only \(who) sets a referral \(new)", expression: ["Task.status"])
            }
            guard new == "entered-in-error" || Self.transitions[old]?.contains(new) == true else {
                let allowed = (Self.transitions[old] ?? []).sorted()
                throw ResourceError(
                    .conflict, .businessRule,
                    "a referral that is \(old) cannot become \(new)"
                        + (allowed.isEmpty ? " (it is final)" : " (it may become: \(allowed.joined(separator: ", ")))"),
                    expression: ["Task.status"]
                )
            }
            return []
        case .delete(_, let id):
            // A referral is withdrawn by cancelling it, so that its history stays.
            if let current = try? await store.read(.task, id: id, access: access), let before = current.resource,
                Self.organization(before["owner"]) != nil
            {
                throw ResourceError(.conflict, .businessRule, "a referral is not deleted: cancel it (status cancelled)")
            }
            return []
        }
    }

    /// The hub organization id of an `Organization/<id>` reference.
    static func organization(_ value: JSONValue?) -> String? {
        value?.referencedID("Organization")
    }
}
