import NIOCore
import PostgresNIO
import Synchronization

/// One operation's hold on a pooled connection, and what may end the operation before its
/// deadline because it can no longer succeed:
///
/// - its connection closes while held: no answer can come any more (a statement written to a
///   closed connection is never answered by PostgresNIO), so the operation ends at once as
///   unavailable instead of waiting out its deadline;
/// - the database goes down (``DatabaseHealth``) while it still waits for a connection, or after
///   its connection closed: ``mayEndEarly``. One on an open connection runs to its answer or its
///   deadline — a commit in flight is not abandoned for a signal.
final class LeaseSignal: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var onLost: (@Sendable () -> Void)?
        var lost = false
    }

    private let state = Mutex(State())

    /// Whether the operation may be ended now that the database is down.
    var mayEndEarly: Bool {
        self.state.withLock { state in state.connection.map(\.isClosed) ?? true }
    }

    /// Runs `action` once if the connection held for the operation closes while held (at once
    /// if it already has).
    func whenLost(_ action: @escaping @Sendable () -> Void) {
        let alreadyLost = self.state.withLock { state in
            if state.lost { return true }
            state.onLost = action
            return false
        }
        if alreadyLost { action() }
    }

    fileprivate func held(_ connection: PostgresConnection) {
        self.state.withLock { $0.connection = connection }
    }

    fileprivate func connectionClosed() {
        let action = self.state.withLock { state in
            state.lost = true
            defer { state.onLost = nil }
            return state.onLost
        }
        action?()
    }
}

/// The pool's connections and the operation holding each, so that a connection closing ends the
/// operation on it (``LeaseSignal``). Each connection's closing is watched once, not once per
/// operation: callbacks would pile up on a connection that lives for hours.
final class LeasedConnections: Sendable {
    private struct Entry {
        var holder: LeaseSignal?
    }

    /// By connection id (unique within the pool).
    private let entries = Mutex<[Int: Entry]>([:])

    /// Runs `body` with `connection` held for `signal`'s operation.
    func hold<Result>(
        _ connection: PostgresConnection,
        for signal: LeaseSignal,
        _ body: () async throws -> Result
    ) async throws -> Result {
        signal.held(connection)
        let id = connection.id
        let firstSeen = self.entries.withLock { entries in
            let firstSeen = entries[id] == nil
            entries[id] = Entry(holder: signal)
            return firstSeen
        }
        if firstSeen {
            connection.closeFuture.whenComplete { _ in self.closed(id) }
        }
        defer { self.release(id, from: signal) }
        return try await body()
    }

    private func release(_ id: Int, from signal: LeaseSignal) {
        self.entries.withLock { entries in
            if entries[id]?.holder === signal { entries[id]?.holder = nil }
        }
    }

    private func closed(_ id: Int) {
        let holder = self.entries.withLock { $0.removeValue(forKey: id)?.holder }
        holder?.connectionClosed()
    }
}
