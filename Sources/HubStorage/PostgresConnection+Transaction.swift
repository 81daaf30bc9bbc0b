public import Logging
public import PostgresNIO

extension PostgresConnection {
    /// `BEGIN`, `body`, `COMMIT` — or `ROLLBACK` when `body` throws, the caller's error coming
    /// out unchanged.
    ///
    /// Unlike PostgresNIO's `withTransaction`, nothing is sent on a connection that has closed:
    /// a statement written to a closed connection is never answered (the failed write reaches no
    /// one), so after a database crash every transaction in flight would wait for ever on its
    /// `ROLLBACK`. The server rolls back a transaction whose connection is gone by itself.
    public func transaction<Result: Sendable>(
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await self.run("BEGIN", logger: logger)
        let result: Result
        do {
            result = try await body(self)
        } catch {
            if !self.isClosed {
                // A failed ROLLBACK leaves nothing to undo on a broken connection; the caller's
                // error is what matters.
                try? await self.run("ROLLBACK", logger: logger)
            }
            throw error
        }
        guard !self.isClosed else {
            throw StorageError(.unavailable, "the database connection closed before COMMIT")
        }
        try await self.run("COMMIT", logger: logger)
        return result
    }
}
