public import Logging
public import PostgresNIO

extension PostgresConnection {
    /// Runs a statement to completion and discards any rows it returns.
    ///
    /// PostgresNIO hands back a statement's row stream as soon as the server has bound it, before
    /// the statement executes; an error raised while executing (a constraint violation in a
    /// `WITH … INSERT … SELECT`, a statement timeout while waiting for a lock) only arrives through
    /// the rows. A statement whose rows nobody reads would therefore report success for work the
    /// server refused. Every statement whose result the hub does not use goes through here.
    public func run(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await self.query(query, logger: logger)
        for try await _ in rows {}
    }
}
