import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct HubCommandTests {
    /// Environment that configures a hub entirely through `HUB_` variables.
    static func environment(database: DatabaseURL, port: Int = 0, migrations: String? = nil) throws -> [String: String] {
        let pki = try TestEnvironment.pki()
        let admin = try TestEnvironment.adminDatabaseURL()
        guard case .tcp(let host, let pgPort) = admin.endpoint else { return [:] }
        return [
            "HUB_SERVER_PORT": String(port),
            "HUB_TLS_CERTIFICATE_CHAIN": pki.serverCertificate,
            "HUB_TLS_PRIVATE_KEY": pki.serverKey,
            "HUB_DATABASE_URL": "postgres://\(database.username)@\(host):\(pgPort)/\(database.database)?sslmode=disable",
            "HUB_DATABASE_MIGRATIONS_DIRECTORY": try migrations ?? TestEnvironment.migrationsDirectory(),
            "HUB_CRYPTO_PROFILES_DIRECTORY": try TestEnvironment.repositoryRoot() + "/profiles/crypto",
            "HUB_CRYPTO_KEY_DIRECTORY": FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path,
            "HUB_CRYPTO_GENERATE_KEYS": "true",
            "HUB_FHIR_PROFILES_DIRECTORY": try TestEnvironment.repositoryRoot() + "/profiles/fhir",
            "HUB_LOG_LEVEL": "warning",
            // Generous: commands run beside a whole test suite on two cores.
            "HUB_DATABASE_OPERATION_TIMEOUT_SECONDS": "30",
            "HUB_DATABASE_DISK_RESERVE_MB": "0",
        ]
    }

    @Test func versionNamesTheFHIRRelease() async throws {
        let output = try await TestProcess.run("hub", ["version"])
        #expect(output.status == 0)
        #expect(output.standardOutput == "hub \(HubVersion.current) (FHIR 4.0.1)\n")
    }

    @Test func everySettingIsDocumented() async throws {
        let output = try await TestProcess.run("hub", ["config", "settings"])
        #expect(output.status == 0)
        let names = output.standardOutput.split(separator: "\n").filter { !$0.hasPrefix(" ") }.compactMap { $0.split(separator: " ").first }
        #expect(names.count == HubConfiguration.settings.count)
        let documentation = try String(contentsOfFile: try TestEnvironment.repositoryRoot() + "/docs/configuration.md", encoding: .utf8)
        for name in names {
            #expect(documentation.contains("| `\(name)` |"), "docs/configuration.md does not document \(name)")
        }
    }

    @Test func aBadSettingStopsWithOneLineNamingIt() async throws {
        var environment = try Self.environment(database: try TestEnvironment.adminDatabaseURL())
        environment["HUB_SERVER_PORT"] = "eighty"
        let output = try await TestProcess.run("hub", ["config", "check"], environment: environment)
        #expect(output.status == 78)
        #expect(output.standardError == "hub: configuration error: server.port (HUB_SERVER_PORT): expected a whole number\n")

        let serve = try await TestProcess.run("hub", ["serve"], environment: environment)
        #expect(serve.status == 78)
        #expect(serve.standardError.split(separator: "\n").count == 1)
    }

    @Test func noConfigurationAtAllNamesTheFirstRequiredSetting() async throws {
        let output = try await TestProcess.run("hub", ["serve"])
        #expect(output.status == 78)
        #expect(output.standardError.hasPrefix("hub: configuration error: tls.certificate_chain: required"))
    }

    @Test func migrateAppliesThenReportsCurrent() async throws {
        try await TestDatabase.withFresh { url in
            let environment = try Self.environment(database: url)
            let status = try await TestProcess.run("hub", ["migrate", "--status"], environment: environment)
            #expect(status.status == 0)
            #expect(status.standardOutput.contains("pending  0001_instance"))

            let first = try await TestProcess.run("hub", ["migrate"], environment: environment)
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput.contains("applied 0001_instance"))

            let second = try await TestProcess.run("hub", ["migrate"], environment: environment)
            #expect(second.standardOutput == "schema already current\n")
        }
    }

    @Test func serveRefusesADatabaseWhoseAppliedMigrationChanged() async throws {
        try await TestDatabase.withFresh { url in
            let environment = try Self.environment(database: url)
            #expect(try await TestProcess.run("hub", ["migrate"], environment: environment).status == 0)

            // The same migrations, but 0001 edited after it was applied.
            let edited = FileManager.default.temporaryDirectory.appendingPathComponent("edited-\(UUID().uuidString)").path
            try FileManager.default.copyItem(atPath: try TestEnvironment.migrationsDirectory(), toPath: edited)
            let file = edited + "/0001_instance.sql"
            try (try String(contentsOfFile: file, encoding: .utf8) + "\n-- edited\n").write(toFile: file, atomically: true, encoding: .utf8)

            var changed = environment
            changed["HUB_DATABASE_MIGRATIONS_DIRECTORY"] = edited
            let output = try await TestProcess.run("hub", ["serve"], environment: changed)
            #expect(output.status == 1)
            let lastLine = output.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(lastLine.hasPrefix("hub: migrationChecksumMismatch: migration 0001_instance changed after it was applied"))
        }
    }

    @Test func serveDrainsAndExitsCleanlyOnSIGTERM() async throws {
        try await TestDatabase.withFresh { url in
            let port = try freePort()
            var environment = try Self.environment(database: url, port: port)
            environment["HUB_DATABASE_MIGRATE_ON_START"] = "true"
            let process = try startServing(environment)
            defer { if process.isRunning { process.interrupt() } }

            let pki = try TestEnvironment.pki()
            let ready = try await pollReady(port: port, ca: pki.caCertificate)
            #expect(ready)

            process.terminate()  // SIGTERM
            let exited = await waitForExit(process, within: .seconds(20))
            #expect(exited)
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 0)
        }
    }

    /// Behind a load balancer: after SIGTERM `/readyz` says 503 first while requests are still
    /// served, for `server.drain_delay_seconds`; then the hub drains and exits 0.
    @Test func serveWithdrawsReadinessBeforeItStopsServing() async throws {
        try await TestDatabase.withFresh { url in
            let port = try freePort()
            var environment = try Self.environment(database: url, port: port)
            environment["HUB_DATABASE_MIGRATE_ON_START"] = "true"
            // Long enough that a loaded machine still sees the window; the test waits it out.
            environment["HUB_SERVER_DRAIN_DELAY_SECONDS"] = "20"
            let process = try startServing(environment)
            defer { if process.isRunning { process.interrupt() } }
            let pki = try TestEnvironment.pki()
            #expect(try await pollReady(port: port, ca: pki.caCertificate))

            let client = try HubClient(configuration: .init(serverURL: "https://127.0.0.1:\(port)", caCertificate: pki.caCertificate))
            process.terminate()  // SIGTERM
            var withdrawn: HubClient.Reply?
            for _ in 0..<50 where withdrawn == nil {
                if let reply = try? await client.send("GET", "/readyz"), reply.status == 503 { withdrawn = reply }
                if withdrawn == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(withdrawn?.text.contains("draining") == true)
            let served = try await client.send("GET", "/fhir/metadata")
            #expect(served.status == 200)
            // Served, and told to move to a hub that stays: only a draining hub answers so (once the
            // delay is over it stops listening). How long the polls took is not asserted: on a
            // loaded machine that measures the machine.
            #expect(served.header("connection") == "close")
            try await client.shutdown()
            #expect(await waitForExit(process, within: .seconds(60)))
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 0)
        }
    }
}

/// `hub serve` started with `environment`, its output discarded.
func startServing(_ environment: [String: String]) throws -> Process {
    let process = try TestProcess.makeProcess("hub", ["serve"], environment: environment)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// A port nothing listens on right now (bound, read, released).
func freePort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `/readyz` until 200 or 60 s (a debug hub starting on a loaded machine).
func pollReady(port: Int, ca: String) async throws -> Bool {
    let client = try HubClient(configuration: .init(serverURL: "https://127.0.0.1:\(port)", caCertificate: ca))
    let deadline = ContinuousClock.now + .seconds(60)
    var ready = false
    while !ready && ContinuousClock.now < deadline {
        if let reply = try? await client.send("GET", "/readyz"), reply.status == 200 {
            ready = true
        } else {
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
    try await client.shutdown()
    return ready
}

func waitForExit(_ process: Process, within timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(100))
    }
    return !process.isRunning
}
