import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct DatabaseTests {
    @Test func pingsARunningDatabase() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        try await database.whileRunning { try await database.ping() }
    }

    @Test func anUnreachableDatabaseFailsWithinTheDeadlineAsTransient() async throws {
        // A proxy whose connections are cut stands for a database that is down.
        let admin = try TestEnvironment.adminDatabaseURL()
        guard case .tcp(let host, let port) = admin.endpoint else { return }
        let proxy = try await TCPProxy(targetHost: host, targetPort: port)
        proxy.cut()
        var unreachable = admin
        unreachable.endpoint = .tcp(host: "127.0.0.1", port: proxy.port)
        let database = try TestDatabase.database(unreachable, operationTimeoutSeconds: 1)
        let start = ContinuousClock.now
        try await database.whileRunning {
            let error = await #expect(throws: StorageError.self) { try await database.ping() }
            #expect(error?.isTransient == true)
        }
        #expect(ContinuousClock.now - start < .seconds(10))

        // And it recovers by itself once the database is back.
        proxy.restore()
        let recovering = try TestDatabase.database(unreachable, operationTimeoutSeconds: 5)
        try await recovering.whileRunning { try await recovering.ping() }
        try await proxy.close()
    }

    @Test func errorsAreClassifiedAndCarryNoSQLInTheirDescription() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        try await database.whileRunning {
            let error = await #expect(throws: StorageError.self) {
                try await database.withConnection("probe") { connection in
                    try await connection.query("SELECT * FROM no_such_table_here", logger: makeTestLogger("t"))
                    return ()
                }
            }
            #expect(error?.code == .queryFailed)
            #expect(error?.description.contains("42P01") == true)
            #expect(error?.description.contains("no_such_table_here") == false)
            #expect(error?.debugDescription.contains("no_such_table_here") == true)
        }
    }

    @Test func aStatementThatRunsTooLongIsCancelledAsATimeout() async throws {
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL(), operationTimeoutSeconds: 1)
        try await database.whileRunning {
            let start = ContinuousClock.now
            let error = await #expect(throws: StorageError.self) {
                try await database.withConnection("slow query") { connection in
                    try await connection.query("SELECT pg_sleep(5)", logger: makeTestLogger("t"))
                    return ()
                }
            }
            // Cut short: the 5 s sleep did not run to its end (the bound is loose, as the whole
            // suite shares two cores; alone it takes about 1 s).
            #expect(ContinuousClock.now - start < .milliseconds(4500))
            #expect(error?.code == .timeout)
            #expect(error?.isTransient == true)
            // The pool is usable afterwards.
            try await database.ping()
        }
    }
}
