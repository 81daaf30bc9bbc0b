import HubConfig
public import Logging
import PostgresNIO

/// Applies migrations to a database, one transaction per migration.
///
/// A PostgreSQL advisory lock makes concurrent migrators (two hubs starting at once) take
/// turns: the second waits, then finds nothing left to do. Each applied migration is
/// recorded with its checksum in `hub_schema_migrations`.
public struct Migrator: Sendable {
    /// Advisory lock key: "HUBMIGR1" as a 64-bit number, unlikely to collide with other users.
    static let lockKey: Int64 = 0x4855_424D_4947_5231
    /// How long one migration run may take, lock wait included.
    static let deadline: Duration = .seconds(3600)

    public let migrations: MigrationSet
    let database: Database
    let logger: Logger

    public init(migrations: MigrationSet, database: Database, logger: Logger) {
        self.migrations = migrations
        self.database = database
        self.logger = logger
    }

    /// Applies every pending migration and returns those it applied.
    ///
    /// Throws before applying anything when an applied migration's file changed or the database
    /// has a migration no file describes.
    @discardableResult
    public func migrate() async throws(StorageError) -> [Migration] {
        let migrations = self.migrations
        let logger = self.logger
        return try await StorageError.typed("migration") {
            try await self.database.withConnection("migration", timeout: Self.deadline) { connection in
                // Waiting for another migrator and running long migrations must not hit the
                // pool's statement timeout; the session's setting is restored afterwards.
                try await connection.run("SET statement_timeout = 0", logger: logger)
                try await connection.run("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
                do {
                    let applied = try await Self.apply(migrations, on: connection, logger: logger)
                    try await connection.run("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    try await connection.run("RESET statement_timeout", logger: logger)
                    return applied
                } catch {
                    // The lock is per session: release it even though the migration failed, as
                    // the connection goes back to the pool.
                    try? await connection.run("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    try? await connection.run("RESET statement_timeout", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Compares the database with the migration files without changing anything.
    public func status() async throws(StorageError) -> MigrationStatus {
        let migrations = self.migrations
        let logger = self.logger
        return try await StorageError.typed("migration status") {
            try await self.database.withConnection("migration status") { connection in
                let applied = try await Self.appliedMigrations(on: connection, logger: logger)
                return MigrationStatus(applied: applied, known: migrations)
            }
        }
    }

    private static func apply(
        _ migrations: MigrationSet,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Migration] {
        try await connection.run(
            """
            CREATE TABLE IF NOT EXISTS hub_schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        let status = MigrationStatus(applied: try await appliedMigrations(on: connection, logger: logger), known: migrations)
        if let problem = status.problems.first {
            throw problem
        }
        var applied: [Migration] = []
        for migration in status.pending {
            let start = ContinuousClock.now
            do {
                try await connection.transaction(logger: logger) { connection in
                    for statement in migration.statements {
                        try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.run(
                        """
                        INSERT INTO hub_schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                        """,
                        logger: logger
                    )
                }
            } catch {
                let cause = StorageError.classify(error, operation: "migration \(migration.label)")
                if cause.isTransient { throw cause }
                throw StorageError(
                    .migrationFailed,
                    "migration \(migration.label) failed and was rolled back",
                    underlying: cause.underlying ?? error
                )
            }
            logger.notice(
                "applied migration",
                metadata: [
                    "migration": "\(migration.label)",
                    "duration_ms": "\((ContinuousClock.now - start).wholeMilliseconds)",
                ]
            )
            applied.append(migration)
        }
        return applied
    }

    private static func appliedMigrations(
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [MigrationStatus.Applied] {
        let exists = try await connection.query(
            "SELECT to_regclass('hub_schema_migrations') IS NOT NULL",
            logger: logger
        )
        var tableExists = false
        for try await (value) in exists.decode(Bool.self) { tableExists = value }
        guard tableExists else { return [] }
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM hub_schema_migrations ORDER BY version",
            logger: logger
        )
        var applied: [MigrationStatus.Applied] = []
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            applied.append(.init(version: version, name: name, checksum: checksum))
        }
        return applied
    }
}
