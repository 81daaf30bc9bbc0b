import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

/// `DatabaseWatch` holds the database down only when it is: cut away, it is down at once and
/// leases fail without waiting; back, it is up; its own backend terminated, it stays up.
@Suite struct DatabaseWatchTests {
    /// Polls `condition` every 20 ms for up to `limit`.
    private static func within(_ limit: Duration, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func aCutDatabaseIsDownAtOnceAndUpWhenBack() async throws {
        let admin = try TestEnvironment.adminDatabaseURL()
        guard case .tcp(let host, let port) = admin.endpoint else { return }
        let proxy = try await TCPProxy(targetHost: host, targetPort: port)
        var throughProxy = admin
        throughProxy.endpoint = .tcp(host: "127.0.0.1", port: proxy.port)
        // A 20 s deadline: failing fast must come from the watch, not from a short deadline.
        let database = try TestDatabase.database(throughProxy, operationTimeoutSeconds: 20)
        let watch = DatabaseWatch(database: database, logger: makeTestLogger("t"))
        try await database.whileRunning {
            let watching = Task { try await watch.run() }
            defer { watching.cancel() }
            // Generous: at the start of a full run, dozens of suites connect at once on two
            // cores and a first connection has taken over 10 s. Only "down" must be quick.
            #expect(try await Self.within(.seconds(45)) { database.health.current == .up })
            try await database.ping()

            proxy.cut()
            // Usually within milliseconds. In a full parallel run on two cores it has taken over
            // 15 s: a close not yet seen waits out the watch's 5 s answer deadline, a reconnect
            // its 5 s connect timeout, and timers fire late. What must be quick is the refusal
            // below, once the database is known down.
            #expect(try await Self.within(.seconds(35)) { database.health.isDown })
            let start = ContinuousClock.now
            let error = await #expect(throws: StorageError.self) { try await database.ping() }
            #expect(error?.code == .unavailable)
            #expect(ContinuousClock.now - start < .seconds(10))  // the deadline is 20 s

            proxy.restore()
            #expect(try await Self.within(.seconds(45)) { database.health.current == .up })
            var answered = false
            for _ in 0..<5 where !answered { answered = (try? await database.ping()) != nil }
            #expect(answered)
        }
        try await proxy.close()
    }

    @Test func itsOwnBackendTerminatedIsNotAnOutage() async throws {
        try await TestDatabase.withFresh { url in
            let database = try TestDatabase.database(url)
            let watch = DatabaseWatch(database: database, logger: makeTestLogger("t"))
            try await database.whileRunning {
                let watching = Task { try await watch.run() }
                defer { watching.cancel() }
                #expect(try await Self.within(.seconds(45)) { database.health.current == .up })
                // As an operator might: only this database's watch.
                let terminated = try await TestDatabase.strings(
                    url,
                    """
                    SELECT count(*)::text FROM pg_stat_activity, pg_terminate_backend(pid)
                    WHERE application_name = 'health-records-hub: database watch' AND datname = current_database()
                    """)
                #expect(terminated == ["1"])
                // It reconnects at once; the database is never held down.
                var seenDown = false
                for _ in 0..<50 {
                    if database.health.isDown { seenDown = true }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(!seenDown)
                #expect(database.health.current == .up)
                try await database.ping()
            }
        }
    }
}
