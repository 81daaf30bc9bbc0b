public import PostgresNIO

extension Database {
    /// Runs `body` with the notifications of `channel` (`LISTEN`), on a connection of the pool
    /// leased for as long as `body` runs (without the operation deadline: a listener is
    /// long-lived; the pool has one connection more than configured for it).
    ///
    /// Every `heartbeat` the connection must answer a `SELECT 1` within `answerWithin`, or the
    /// listening ends with a ``StorageError``: a connection that silently stopped delivering must
    /// not pass for a quiet channel. Listening is in force before `body` is called; it ends
    /// (`UNLISTEN`) when `body` returns or throws, or the heartbeat fails. Cancel the calling task
    /// to stop it.
    ///
    /// - Parameter channel: A fixed channel name of the hub's own migrations; never data.
    public func listen<Result: Sendable>(
        _ channel: String,
        heartbeat: Duration,
        answerWithin: Duration,
        _ body: @escaping @Sendable (PostgresNotificationSequence) async throws -> Result
    ) async throws -> Result {
        do {
            return try await self.client.withConnection { connection in
                // Named in pg_stat_activity, for operators (and tests) to tell it apart.
                let name = "health-records-hub: \(channel) listener"
                try await connection.run("SELECT set_config('application_name', \(name), false)", logger: self.logger)
                // Back to its usual name before it returns to the pool — bounded: a statement on
                // a connection that has closed never answers.
                let reset: @Sendable () async -> Void = {
                    _ = try? await self.withDeadline("reset the \(name)", timeout: answerWithin) {
                        try await connection.run("RESET application_name", logger: self.logger)
                    }
                }
                do {
                    let result = try await connection.listen(on: channel) { notifications in
                        try await self.whileAnswering(connection, every: heartbeat, within: answerWithin, label: name) {
                            try await body(notifications)
                        }
                    }
                    await reset()
                    return result
                } catch {
                    await reset()
                    throw error
                }
            }
        } catch {
            guard StorageError.isDatabaseFailure(error) else { throw error }
            throw StorageError.classify(error, operation: "listen for \(channel)")
        }
    }

    /// Runs `body` while `connection` answers a `SELECT 1` within `limit`, every `interval`;
    /// throws the heartbeat's failure as soon as it fails (`body` is cancelled).
    private func whileAnswering<Result: Sendable>(
        _ connection: PostgresConnection,
        every interval: Duration,
        within limit: Duration,
        label: String,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    try await self.withDeadline("heartbeat of the \(label)", timeout: limit) {
                        try await connection.run("SELECT 1", logger: self.logger)
                    }
                }
            }
            defer { group.cancelAll() }
            // The heartbeat only ever ends by throwing: the first value is the body's.
            for try await case let result? in group { return result }
            throw StorageError(.unavailable, "the \(label) ended")
        }
    }
}
