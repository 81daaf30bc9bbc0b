public import HubFHIR
public import HubResourcesCore

/// Rules a write of one resource type must follow beyond validation: the other writes it
/// entails, applied in the same transaction (an Appointment takes its Slot), and the refusals it
/// entails (a status that may not follow the current one).
public protocol WriteRule: Sendable {
    /// The type whose writes this rule governs.
    var type: ResourceType { get }

    /// The write as it will be stored: the rule's checks of the resource alone, and what the
    /// server rather than the client settles in it (reading what it needs from `store`).
    /// Before ``expand(_:store:access:)``.
    func admit(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> WriteOperation

    /// The writes `operation` entails, after checking it may happen; `store` reads what the
    /// decision needs (with the caller's `access`).
    func expand(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> [DerivedWrite]
}

extension WriteRule {
    public func admit(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> WriteOperation { operation }

    public func expand(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> [DerivedWrite] { [] }
}

/// A write a rule adds, and what to tell the caller when it fails because what it depends on
/// changed meanwhile (the Slot was taken by a concurrent booking).
public struct DerivedWrite: Sendable {
    public var operation: WriteOperation
    /// The 409's diagnostics when this write's precondition fails.
    public var conflict: String
    /// The FHIRPath of the element the conflict is about.
    public var expression: String?

    public init(_ operation: WriteOperation, conflict: String, expression: String? = nil) {
        self.operation = operation
        self.conflict = conflict
        self.expression = expression
    }
}
