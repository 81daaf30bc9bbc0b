import Foundation
public import HubConfig
public import HubStorage
import Metrics
import PostgresNIO

/// A database of its own for each test, created on the test cluster and dropped afterwards.
public enum TestDatabase {
    /// Creates an empty database, runs `body` with its URL, then drops it (also when `body` throws).
    public static func withFresh<Result: Sendable>(
        _ body: @Sendable (DatabaseURL) async throws -> Result
    ) async throws -> Result {
        let admin = try TestEnvironment.adminDatabaseURL()
        // Identifiers cannot be bound as parameters; this one is made of hex digits only.
        let name = "hub_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await Self.runAdmin(admin, "CREATE DATABASE \(name)")
        do {
            let result = try await body(admin.with(database: name))
            try await Self.runAdmin(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return result
        } catch {
            try? await Self.runAdmin(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs one statement on `url` with a short-lived pool (for set-up and inspection).
    public static func execute(_ url: DatabaseURL, _ sql: String) async throws {
        try await Self.runAdmin(url, sql)
    }

    /// Runs a query on `url` and returns the first column of every row as text.
    public static func strings(_ url: DatabaseURL, _ sql: String) async throws -> [String] {
        let database = try Self.database(url)
        return try await database.whileRunning {
            try await database.withConnection("test query") { connection in
                var values: [String] = []
                for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: makeTestLogger("test.sql")).decode(
                    String.self)
                {
                    values.append(value)
                }
                return values
            }
        }
    }

    /// A `Database` for `url` whose metrics go nowhere. Its deadline is generous: it sets tests up
    /// and inspects them while the whole suite loads the machine (creating a database waits for
    /// every other being created).
    public static func database(_ url: DatabaseURL, operationTimeoutSeconds: Int = 120) throws -> Database {
        var settings = HubConfiguration.Database()
        settings.url = url
        settings.maxConnections = 2
        settings.operationTimeoutSeconds = operationTimeoutSeconds
        return try Database(configuration: settings, logger: makeTestLogger("test.database"), metricsFactory: NOOPMetricsHandler.instance)
    }

    /// Runs `statements` in order on the database at `url` (set-up a test plays an operator's or an attacker's part with).
    public static func run(_ url: DatabaseURL, _ statements: [String]) async throws {
        let database = try Self.database(url)
        try await database.whileRunning {
            try await database.withConnection("test set-up") { connection in
                for statement in statements {
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger: makeTestLogger("test.sql"))
                }
                return ()
            }
        }
    }

    private static func runAdmin(_ url: DatabaseURL, _ sql: String) async throws {
        let database = try Self.database(url)
        try await database.whileRunning {
            try await database.withConnection("test set-up") { connection in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: makeTestLogger("test.sql"))
                return ()
            }
        }
    }

    /// Changes the first audited read into a create in `audit_log`, as the table's owner could
    /// (its append-only triggers off): what verification must detect.
    public static func tamperWithFirstAuditRead(_ url: DatabaseURL) async throws {
        for statement in [
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "UPDATE audit_log SET record = convert_to(replace(convert_from(record, 'UTF8'), '\"R\"', '\"C\"'), 'UTF8') WHERE idx = (SELECT min(idx) FROM audit_log WHERE action = 'R')",
            "ALTER TABLE audit_log ENABLE TRIGGER USER",
        ] {
            try await Self.execute(url, statement)
        }
    }
}
