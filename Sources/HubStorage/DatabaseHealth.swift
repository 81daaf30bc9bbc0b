import Synchronization

/// Whether the database is reachable, as ``DatabaseWatch`` last found it.
///
/// Consulted by every lease ``Database`` hands out: while the database is known to be down,
/// operations fail at once as unavailable (HTTP 503 with `Retry-After`) instead of each waiting
/// out its deadline for a connection that cannot come — those already waiting when it goes down
/// included — and `/readyz` says so without asking.
/// Until the watch has connected once the state is unknown, and operations go ahead as usual.
public final class DatabaseHealth: Sendable {
    public enum State: UInt8, Sendable {
        case unknown = 0
        case up = 1
        case down = 2
    }

    private let state = Atomic<UInt8>(State.unknown.rawValue)
    /// What to do when the database goes down, by registration: the operations waiting on it.
    private let onDown = Mutex<(next: UInt64, actions: [UInt64: @Sendable () -> Void])>((0, [:]))

    public init() {}

    public var current: State {
        State(rawValue: self.state.load(ordering: .acquiring)) ?? .unknown
    }

    public var isDown: Bool { self.current == .down }

    /// Records a state; returns whether it changed (for logging the transition once). Going
    /// down runs every registered action: operations already waiting end at once too.
    @discardableResult
    func record(_ state: State) -> Bool {
        let changed = self.state.exchange(state.rawValue, ordering: .acquiringAndReleasing) != state.rawValue
        if changed, state == .down {
            let actions = self.onDown.withLock { registry in
                defer { registry.actions.removeAll() }
                return Array(registry.actions.values)
            }
            for action in actions { action() }
        }
        return changed
    }

    /// Runs `action` if the database goes down before ``forget(_:)`` is called with the returned
    /// registration.
    func whenDown(_ action: @escaping @Sendable () -> Void) -> UInt64 {
        self.onDown.withLock { registry in
            registry.next += 1
            registry.actions[registry.next] = action
            return registry.next
        }
    }

    func forget(_ registration: UInt64) {
        _ = self.onDown.withLock { $0.actions.removeValue(forKey: registration) }
    }
}
