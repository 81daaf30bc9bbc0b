import HubConfig
import HubTestSupport
import PostgresNIO
import Synchronization
import Testing

@testable import HubStorage

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
        let recovered = try await recovering.whileRunning {
            // A few tries: a loaded machine may make one first connection slower than 5 s.
            for _ in 0..<5 {
                if (try? await recovering.ping()) != nil { return true }
            }
            return false
        }
        #expect(recovered)
        try await proxy.close()
    }

    @Test func anErrorWhileARowReturningStatementExecutesIsReported() async throws {
        // A write inside `WITH … SELECT` fails only after the server has bound the statement,
        // which is when PostgresNIO already hands back its (unread) rows.
        let database = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
        try await database.whileRunning {
            let error = await #expect(throws: StorageError.self) {
                try await database.withTransaction("duplicate") { connection in
                    let logger = makeTestLogger("t")
                    try await connection.run("CREATE TEMPORARY TABLE run_probe (k int PRIMARY KEY) ON COMMIT DROP", logger: logger)
                    try await connection.run("INSERT INTO run_probe VALUES (1)", logger: logger)
                    try await connection.run("WITH i AS (INSERT INTO run_probe VALUES (2), (1) RETURNING k) SELECT 1", logger: logger)
                    return ()
                }
            }
            #expect(error?.code == .conflict)
        }
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
            let error = await #expect(throws: StorageError.self) {
                try await database.withConnection("slow query") { connection in
                    try await connection.run("SELECT pg_sleep(5) -- cancelled-by-timeout-test", logger: makeTestLogger("t"))
                }
            }
            #expect(error?.code == .timeout)
            #expect(error?.isTransient == true)
            // Stopped on the server, not just abandoned by the client: the sleep stops running well
            // before its 5 s (the caller is answered at the deadline; the cancellation and the
            // connection's return to the pool follow).
            // Observed through a pool of its own: the 1 s deadline under test would time the
            // observation out too on a loaded machine.
            let observer = try TestDatabase.database(try TestEnvironment.adminDatabaseURL())
            let running = try await observer.whileRunning {
                var running = -1
                let deadline = ContinuousClock.now + .seconds(3)
                while ContinuousClock.now < deadline {
                    running =
                        (try? await observer.withConnection("check") { connection in
                            let rows = try await connection.query(
                                "SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%cancelled-by-timeout-test%' AND pid <> pg_backend_pid()",
                                logger: makeTestLogger("t")
                            )
                            for try await count in rows.decode(Int.self) { return count }
                            return -1
                        }) ?? -1
                    if running == 0 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return running
            }
            #expect(running == 0)
            // The pool is usable afterwards (tries for up to 30 s: its 1 s deadline is short for
            // a loaded machine — a clean clone's CI start — and slow pings are not what this test
            // is about; a pool left broken never answers).
            var usable = false
            let usableBy = ContinuousClock.now + .seconds(30)
            while !usable, ContinuousClock.now < usableBy {
                usable = (try? await database.ping()) != nil
                if !usable { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(usable)
        }
    }

    /// What a database crash does to a transaction in flight: its connection closes under it.
    /// The operation ends at once as unavailable, not at its deadline; the transaction itself
    /// ends too (PostgresNIO's own would send ROLLBACK on the closed connection and wait for an
    /// answer for ever); and the pool serves again once the database is back.
    @Test func aTransactionWhoseConnectionClosesEndsAtOnce() async throws {
        let admin = try TestEnvironment.adminDatabaseURL()
        guard case .tcp(let host, let port) = admin.endpoint else { return }
        let proxy = try await TCPProxy(targetHost: host, targetPort: port)
        var throughProxy = admin
        throughProxy.endpoint = .tcp(host: "127.0.0.1", port: proxy.port)
        let sleep = "SELECT pg_sleep(29.25)"
        let sleepers = "SELECT count(*)::text FROM pg_stat_activity WHERE query = '\(sleep)'"
        /// Waits until `count` sleeps are running in the database.
        let whenSleeping: @Sendable (Int) async throws -> Bool = { count in
            for _ in 0..<250 {
                if try await TestDatabase.strings(admin, sleepers) == ["\(count)"] { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        // A 30 s deadline: ending early must come from the closed connection.
        let database = try TestDatabase.database(throughProxy, operationTimeoutSeconds: 30)
        try await database.whileRunning {
            try await database.ping()
            let pooled = Task {
                try await database.withTransaction("sleep") { connection in
                    try await connection.run(PostgresQuery(unsafeSQL: sleep), logger: makeTestLogger("t"))
                }
            }
            // And one outside the pool, to see the transaction end by itself (no deadline here).
            let connection = try await database.connectOutsideThePool(name: "test", logger: makeTestLogger("t"))
            let unpooled = Task {
                try await connection.transaction(logger: makeTestLogger("t")) { connection in
                    try await connection.run(PostgresQuery(unsafeSQL: sleep), logger: makeTestLogger("t"))
                }
            }
            #expect(try await whenSleeping(2))
            let start = ContinuousClock.now
            proxy.cut()
            let error = await #expect(throws: StorageError.self) { try await pooled.value }
            #expect(error?.code == .unavailable)
            // Polled rather than awaited: a transaction that never ends must fail the test, not hang it.
            let ended = Mutex(false)
            Task {
                _ = try? await unpooled.value
                ended.withLock { $0 = true }
            }
            for _ in 0..<750 where !ended.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            let endedInTime = ended.withLock { $0 }
            #expect(endedInTime)
            #expect(ContinuousClock.now - start < .seconds(15))
            try? await connection.close()

            proxy.restore()
            var answered = false
            for _ in 0..<5 where !answered { answered = (try? await database.ping()) != nil }
            #expect(answered)
        }
        try await proxy.close()
        _ = try await TestDatabase.strings(admin, "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity WHERE query = '\(sleep)'")
    }
}
