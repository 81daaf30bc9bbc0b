import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

/// Statements prepared once per connection: named by their text, really prepared on the server,
/// and a preparation that failed does not stay failed.
@Suite struct ReusableStatementTests {
    private static func statement(_ text: String, _ values: [Int]) -> ReusableStatement {
        var sql = SQLBuilder()
        var rendered = text
        for value in values { rendered = rendered.replacing("?", with: sql.bind(value), maxReplacements: 1) }
        return sql.reusable(rendered)
    }

    @Test func equalTextsShareANameAndValuesDoNotChangeIt() {
        let one = Self.statement("SELECT ? + ?", [1, 2])
        let other = Self.statement("SELECT ? + ?", [40, 2])
        let different = Self.statement("SELECT ? - ?", [1, 2])
        #expect(one.name == other.name)
        #expect(one.name != different.name)
        #expect(one.name?.hasPrefix("hub_") == true && one.name?.utf8.count == 36)
        #expect(SQLBuilder().reusable("SELECT 1", if: false).name == nil)
    }

    @Test func aStatementIsPreparedOnceAndAnswersWithEachCallsValues() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        let logger = makeTestLogger("t")
        try await database.whileRunning {
            try await database.withConnection("probe") { connection in
                var sums: [Int] = []
                for (a, b) in [(1, 2), (40, 2), (-5, 5)] {
                    let rows = try await connection.query(Self.statement("SELECT (?::int + ?::int)", [a, b]), logger: logger)
                    for try await (sum) in rows.decode(Int.self) { sums.append(sum) }
                }
                #expect(sums == [3, 42, 0])
                // The session holds it under its name, with the text as sent, prepared once.
                let name = Self.statement("SELECT (?::int + ?::int)", [0, 0]).name
                let rows = try await connection.query(
                    "SELECT statement FROM pg_prepared_statements WHERE name = \(name) AND NOT from_sql", logger: logger)
                var texts: [String] = []
                for try await text in rows.decode(String.self) { texts.append(text) }
                #expect(texts == ["SELECT ($1::int + $2::int)"])
                // One that is not to be reused answers alike and is not kept.
                var sql = SQLBuilder()
                let text = "SELECT \(sql.bind(7))::int * 6 AS unkept"
                let unnamed = sql.reusable(text, if: false)
                for try await product in try await connection.query(unnamed, logger: logger).decode(Int.self) { #expect(product == 42) }
                let kept = try await connection.query(
                    "SELECT count(*)::int FROM pg_prepared_statements WHERE statement LIKE '%unkept%'", logger: logger)
                for try await count in kept.decode(Int.self) { #expect(count == 0) }
            }
        }
    }

    @Test func aFailedPreparationClosesItsConnectionSoTheNextPreparesAgain() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        let logger = makeTestLogger("t")
        let table = "reusable_probe_\(UInt32.random(in: 0...UInt32.max))"
        let select = Self.statement("SELECT count(*)::int FROM \(table) WHERE k > ?", [0])
        try await database.whileRunning {
            // Prepared before its table exists: the preparation fails, and PostgresNIO would keep
            // answering that failure on this connection for good.
            let leased = try await database.withConnection("probe") { connection in
                await #expect(throws: PSQLError.self) { try await connection.run(select, logger: logger) }
                return connection
            }
            #expect(leased.isClosed)
            // Inside a transaction too: closed once the rollback is done, and answered at once
            // (closing first would leave the ROLLBACK waiting for ever).
            let inTransaction = PostgresConnectionBox()
            let error = await #expect(throws: StorageError.self) {
                try await database.withTransaction("probe") { connection in
                    inTransaction.connection = connection
                    try await connection.run(select, logger: logger)
                }
            }
            #expect(error?.code == .queryFailed)  // not .timeout: the rollback was answered
            #expect(inTransaction.connection?.isClosed == true)
            try await database.withConnection("create") { connection in
                try await connection.run(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (k int PRIMARY KEY)"), logger: logger)
            }
            // Every connection the pool now lends prepares it afresh and succeeds.
            for _ in 0..<6 {
                let count = try await database.withConnection("count") { connection in
                    for try await count in try await connection.query(select, logger: logger).decode(Int.self) { return count }
                    return -1
                }
                #expect(count == 0)
            }
            try await database.withConnection("drop") { connection in
                try await connection.run(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
            }
        }
    }

    @Test func anErrorWhileExecutingKeepsTheConnectionAndThePreparation() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        let logger = makeTestLogger("t")
        try await database.whileRunning {
            try await database.withConnection("probe") { connection in
                try await connection.run("CREATE TEMPORARY TABLE reusable_unique (k int PRIMARY KEY)", logger: logger)
                let insert = Self.statement("INSERT INTO reusable_unique VALUES (?)", [1])
                try await connection.run(insert, logger: logger)
                let error = await #expect(throws: PSQLError.self) { try await connection.run(insert, logger: logger) }
                #expect(error?.serverInfo?[.sqlState] == "23505")
                #expect(!connection.isClosed)
                try await connection.run(Self.statement("INSERT INTO reusable_unique VALUES (?)", [2]), logger: logger)
                let rows = try await connection.query("SELECT count(*)::int FROM reusable_unique", logger: logger)
                for try await count in rows.decode(Int.self) { #expect(count == 2) }
            }
        }
    }
}

private final class PostgresConnectionBox: @unchecked Sendable {
    // Written once inside the transaction, read after it: no concurrent access.
    var connection: PostgresConnection?
}
