public import HubAudit
public import HubFHIR
public import HubResources
import Synchronization

/// What a handler tells the audit trail about its request: the interaction, what it returned,
/// and whether the store already recorded it (writes are recorded in their own transaction).
///
/// Shared by reference between ``AuditMiddleware``, which writes the records once the response
/// exists, and the handler, which knows what the response holds.
public final class RequestAudit: Sendable {
    struct State {
        var interaction: String?
        var action: AuditRecord.Action?
        var resourceType: String?
        var returned: [StoredResource] = []
        var recordedByStore = false
        /// The issue type of the error the request was answered with.
        var issue: OperationOutcome.Issue.IssueType?
        /// The PurposeOfUse the request served, when not its caller's usual one (an export under
        /// a population grant is public health, not treatment).
        var purpose: String?
    }

    let state = Mutex(State())
    /// The patients the request aimed at, noted by the store through ``RecordAccess/targets``.
    public let targets = AuditTargets()

    public init() {}

    /// Names the interaction (`read`, `search-type`, …), its action and resource type.
    public func interaction(_ name: String, action: AuditRecord.Action, type: String? = nil) {
        self.state.withLock { state in
            state.interaction = name
            state.action = action
            if let type { state.resourceType = type }
        }
    }

    /// Adds resources the response carries.
    public func returned(_ resources: [StoredResource]) {
        self.state.withLock { $0.returned += resources }
    }

    /// The request failed with `issue` (noted by ``ErrorResponseMiddleware``).
    public func failed(_ issue: OperationOutcome.Issue.IssueType) {
        self.state.withLock { $0.issue = issue }
    }

    /// The request served `purposeOfUse` (HL7 PurposeOfUse), not the caller's usual one.
    public func purpose(_ purposeOfUse: String) {
        self.state.withLock { $0.purpose = purposeOfUse }
    }

    /// The store recorded this (successful) write in its transaction.
    public func recordedByStore() {
        self.state.withLock { $0.recordedByStore = true }
    }
}
