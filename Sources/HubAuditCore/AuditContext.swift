/// What a write is audited as: who, and which interaction. The record store writes the audit
/// records of a change in the change's own transaction, from this and what it stored.
public struct AuditContext: Sendable, Equatable {
    public var caller: Caller
    /// `create`, `update`, `patch`, `delete`, `transaction`, `batch`, …
    public var interaction: String

    public init(caller: Caller, interaction: String) {
        self.caller = caller
        self.interaction = interaction
    }
}
