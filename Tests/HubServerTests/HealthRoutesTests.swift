import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct HealthRoutesTests {
    @Test func healthzAnswersWithoutTheDatabase() async throws {
        try await withHub { hub in
            let reply = try await hub.send("GET", "/healthz")
            #expect(reply.status == 200)
            #expect(try jsonObject(reply)["status"] as? String == "ok")
            #expect(reply.header("content-type")?.hasPrefix("application/json") == true)
        }
    }

    @Test func readyzIsReadyOnceMigrated() async throws {
        try await withHub { hub in
            let reply = try await hub.send("GET", "/readyz")
            #expect(reply.status == 200)
            let body = try jsonObject(reply)
            #expect(body["status"] as? String == "ready")
            let checks = body["checks"] as? [[String: Any]] ?? []
            #expect(checks.map { $0["name"] as? String } == ["database", "migrations"])
        }
    }

    @Test func readyzIsUnavailableWhileMigrationsArePending() async throws {
        try await withHub({ $0.database.migrateOnStart = false }) { hub in
            let reply = try await hub.send("GET", "/readyz")
            #expect(reply.status == 503)
            #expect(reply.header("retry-after") == "5")
            let checks = try jsonObject(reply)["checks"] as? [[String: Any]] ?? []
            let migrations = checks.first { $0["name"] as? String == "migrations" }
            #expect(migrations?["ok"] as? Bool == false)
            #expect((migrations?["detail"] as? String)?.contains("pending") == true)
            // Liveness is unaffected.
            #expect(try await hub.send("GET", "/healthz").status == 200)
        }
    }

    @Test func readyzFollowsTheDatabaseDownAndBackUp() async throws {
        try await TestDatabase.withFresh { url in
            guard case .tcp(let host, let port) = url.endpoint else { return }
            let proxy = try await TCPProxy(targetHost: host, targetPort: port)
            var throughProxy = url
            throughProxy.endpoint = .tcp(host: "127.0.0.1", port: proxy.port)
            var configuration = try TestHub.configuration(database: throughProxy)
            // Short enough that no request waits long on the cut database; long enough for the
            // hub's start on a loaded machine (2 s failed once at a clean clone's start).
            configuration.database.operationTimeoutSeconds = 8
            try await TestHub.withRunning(configuration) { hub in
                #expect(try await hub.send("GET", "/readyz").status == 200)

                proxy.cut()
                let down = try await hub.send("GET", "/readyz")
                #expect(down.status == 503)
                #expect(down.header("retry-after") != nil)
                #expect(try await hub.send("GET", "/healthz").status == 200)

                proxy.restore()
                let recovered = try await eventually { try await hub.send("GET", "/readyz").status == 200 }
                #expect(recovered)
            }
            try await proxy.close()
        }
    }
}
