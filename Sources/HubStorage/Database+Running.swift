import PostgresNIO

extension Database {
    /// Runs the pool for the duration of `body` — for commands and tests that use the database
    /// without a service group (`hub migrate`). The pool is shut down when `body` returns.
    @discardableResult
    public func whileRunning<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await self.client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
