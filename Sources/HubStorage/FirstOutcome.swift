import Synchronization

/// The first of several racing outcomes, delivered once; the rest are dropped.
final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Swift.Result<Value, any Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Swift.Result<Value, any Error>? = self.state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Runs `cleanup` once the outcome is known (at once if it already is).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let finished = self.state.withLock { state in
            if state.done { return true }
            state.cleanup = cleanup
            return false
        }
        if finished { cleanup() }
    }

    func finish(_ result: Swift.Result<Value, any Error>) {
        let (continuation, cleanup): (CheckedContinuation<Value, any Error>?, (@Sendable () -> Void)?) = self.state.withLock { state in
            guard !state.done else { return (nil, nil) }
            state.done = true
            if state.continuation == nil { state.early = result }
            let taken = (state.continuation, state.cleanup)
            state.continuation = nil
            state.cleanup = nil
            return taken
        }
        continuation?.resume(with: result)
        cleanup?()
    }
}
