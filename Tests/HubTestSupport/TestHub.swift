import Foundation
public import HubAccess
import HubAudit
public import HubClient
public import HubConfig
public import HubCrypto
import HubFHIR
import HubKeys
import HubResources
import HubServer
import HubStorage
import HubWorkflows
import Hummingbird
public import Logging
public import Prometheus
import ServiceLifecycle
import Synchronization

/// A hub running in the test process on a free port, with real TLS and a real database.
public struct RunningHub: Sendable {
    public let port: Int
    /// The MLLP listener's port, when `hl7.mllp_enabled`.
    public let mllpPort: Int?
    public let configuration: HubConfiguration
    public let metricsRegistry: PrometheusCollectorRegistry
    public let pki: TestPKI
    /// The hub's registry of organizations and principals (see ``TestHub/Identities``).
    public let directory: IdentityDirectory
    let tokens: AccessTokens
    /// The hub's mirror of its directory as FHIR resources (a test changing the directory
    /// behind the hub's back runs a pass rather than wait for the periodic one).
    public let directoryMirror: DirectoryMirror
    /// The hub's cache of resolved credentials.
    public var grants: GrantCache { self.tokens.grants }

    /// A bearer token for `principal`, issued the way `POST /auth/token` would — through a pool
    /// of the test's own with a generous deadline: outage tests give the hub's pool deadlines
    /// too short for set-up on a loaded machine.
    public func token(for principal: String, scopes: [String]? = nil) async throws -> String {
        guard let url = self.configuration.database.url else {
            let found = try await self.directory.principal(id: principal)
            return try await self.tokens.issue(to: found, scopes: scopes, audit: AuditContext(caller: Caller(user: "test"), interaction: "login"))
                .accessToken
        }
        let pool = try TestDatabase.database(url)
        return try await pool.whileRunning {
            let directory = IdentityDirectory(
                database: pool, registry: AlgorithmRegistry.standard(), grants: self.tokens.grants, logger: makeTestLogger("test.tokens"))
            let tokens = AccessTokens(
                database: pool, lifetime: .seconds(3600), emergencyLifetime: .seconds(600), grants: directory.grants,
                logger: makeTestLogger("test.tokens"))
            let found = try await directory.principal(id: principal)
            return try await tokens.issue(to: found, scopes: scopes, audit: AuditContext(caller: Caller(user: "test"), interaction: "login"))
                .accessToken
        }
    }

    public var url: String { "https://127.0.0.1:\(self.port)" }

    /// A client that trusts the test CA and presents `certificate` (a PKI's client identity), if given.
    /// Its 30 s limit is generous on purpose: the suite runs many hubs at once on two cores.
    public func client(presenting certificate: TestPKI? = nil, trusting ca: String? = nil, timeout: Duration = .seconds(30)) throws -> HubClient {
        var configuration = HubClient.Configuration(
            serverURL: self.url,
            caCertificate: ca ?? self.pki.caCertificate,
            clientCertificate: certificate?.clientCertificate,
            clientKey: certificate?.clientKey
        )
        configuration.timeout = timeout
        return try HubClient(configuration: configuration)
    }

    /// Sends one request with a fresh client and shuts the client down.
    public func send(
        _ method: String = "GET",
        _ path: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil,
        presenting certificate: TestPKI? = nil,
        bearer: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> HubClient.Reply {
        let client = try self.client(presenting: certificate, timeout: timeout)
        do {
            let reply = try await client.send(method, path, headers: headers + (bearer.map { [("Authorization", "Bearer \($0)")] } ?? []), body: body)
            try await client.shutdown()
            return reply
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

public enum TestHub {
    /// Who a test hub knows from the start: two hospitals with a system each (the PKI's
    /// `client` and `other-client` certificates, scopes `system/*.*`) and a clinician each
    /// (`user/*.*`), and the health commission with a regulator (the `regulator` certificate)
    /// and an administrator.
    public enum Identities {
        public static let hospital = "test-hospital"
        public static let otherHospital = "other-hospital"
        public static let thirdHospital = "third-hospital"
        public static let commission = "health-commission"
        public static let system = "test-system"
        public static let otherSystem = "other-system"
        public static let thirdSystem = "third-system"
        public static let clinician = "test-clinician"
        public static let otherClinician = "other-clinician"
        public static let regulator = "test-regulator"
        public static let administrator = "test-admin"

        static func register(in directory: IdentityDirectory, pki: TestPKI) async throws {
            let audit = AuditContext(caller: Caller(user: "test-setup"), interaction: "admin")
            for (id, name, kind) in [
                (hospital, "第一人民医院", Organization.Kind.hospital), (otherHospital, "第二人民医院", .hospital),
                (thirdHospital, "第三人民医院", .hospital),
                (commission, "市卫生健康委员会", .commission),
            ] {
                _ = try await directory.add(Organization(id: id, name: name, kind: kind), audit: audit)
            }
            let principals = [
                Principal(
                    id: system, role: .system, organization: hospital, name: "HIS", scopes: ["system/*.*"],
                    certificateSHA256: try fingerprint(pki.clientCertificate)),
                Principal(
                    id: otherSystem, role: .system, organization: otherHospital, name: "HIS", scopes: ["system/*.*"],
                    certificateSHA256: try fingerprint(pki.otherHospital.clientCertificate)),
                Principal(
                    id: thirdSystem, role: .system, organization: thirdHospital, name: "HIS", scopes: ["system/*.*"],
                    certificateSHA256: try fingerprint(pki.thirdHospital.clientCertificate)),
                Principal(id: clinician, role: .clinician, organization: hospital, name: "李医生", scopes: ["user/*.*"]),
                Principal(id: otherClinician, role: .clinician, organization: otherHospital, name: "王医生", scopes: ["user/*.*"]),
                Principal(
                    id: regulator, role: .regulator, organization: commission, name: "监管员",
                    certificateSHA256: try fingerprint(pki.regulator.clientCertificate)),
                Principal(id: administrator, role: .administrator, organization: commission, name: "管理员"),
            ]
            for principal in principals {
                _ = try await directory.add(principal, audit: audit)
            }
        }

        /// SHA-256 of a PEM certificate's DER, lowercase hex — what registrations bind to.
        public static func fingerprint(_ path: String) throws -> String {
            try Principal.fingerprint(certificatePEM: try String(contentsOfFile: path, encoding: .utf8))
        }
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The configuration a test hub starts from: port 0, the test PKI, `database`, migrations
    /// applied at start, and a short operation timeout so outage tests finish quickly.
    public static func configuration(database: DatabaseURL) throws -> HubConfiguration {
        let pki = try TestEnvironment.pki()
        var configuration = HubConfiguration()
        configuration.server.port = 0
        configuration.tls.certificateChain = pki.serverCertificate
        configuration.tls.privateKey = pki.serverKey
        configuration.tls.clientCA = pki.caCertificate
        configuration.database.url = database
        configuration.database.maxConnections = 2
        // Generous: a loaded 2-core machine must not turn slow answers into 503s. Outage tests
        // shorten it themselves.
        configuration.database.operationTimeoutSeconds = 10
        configuration.database.connectTimeoutSeconds = 5
        configuration.database.migrateOnStart = true
        configuration.database.migrationsDirectory = try TestEnvironment.migrationsDirectory()
        // No disk reserve: a hundred test databases need not each write 64 MB (DiskFullTests
        // turns it on).
        configuration.database.diskReserveMegabytes = 0
        configuration.crypto.profilesDirectory = try TestEnvironment.repositoryRoot() + "/profiles/crypto"
        configuration.crypto.keyDirectory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("hub-keys-\(UUID().uuidString)").path
        configuration.crypto.generateKeys = true
        configuration.fhir.profilesDirectory = try TestEnvironment.repositoryRoot() + "/profiles/fhir"
        // The tests' notification receivers listen on loopback: allowed here, refused by default.
        configuration.subscriptions.allowedEndpointNetworks = ["127.0.0.0/8", "::1/128"].compactMap(IPNetwork.init)
        return configuration
    }

    /// Registers ``Identities`` in the migrated database at `url` — unless a hub before found them
    /// there (a restarted hub, same database) — through a pool of its own. `grants` is the hub's
    /// cache, if it runs in this process (its own changes empty it).
    public static func registerIdentities(
        in url: DatabaseURL,
        registry: AlgorithmRegistry = .standard(preferring: nil),
        grants: GrantCache = GrantCache(),
        logger: Logger = makeTestLogger("test.setup")
    ) async throws {
        let pki = try TestEnvironment.pki()
        let setup = try TestDatabase.database(url)
        try await setup.whileRunning {
            let directory = IdentityDirectory(database: setup, registry: registry, grants: grants, logger: logger)
            if (try? await directory.principal(id: Identities.system)) == nil {
                try await Identities.register(in: directory, pki: pki)
            }
        }
    }

    /// Starts a hub with `configuration`, runs `body` against it, then shuts it down; the hub
    /// logs to `logger` (the tests' own, warnings and worse, by default).
    public static func withRunning<Result: Sendable>(
        _ configuration: HubConfiguration,
        logger: Logger? = nil,
        _ body: @Sendable (RunningHub) async throws -> Result
    ) async throws -> Result {
        // A hub whose start-up lost the database (its watch's probe late on a machine saturated by
        // the whole suite: seen in the outage tests, which start through a proxy) is started
        // again, at most twice; once `body` runs, every failure is the test's.
        let started = Mutex(false)
        var attempt = 1
        while true {
            do {
                return try await Self.runOnce(configuration, logger: logger) { hub in
                    started.withLock { $0 = true }
                    return try await body(hub)
                }
            } catch let error as StorageError where error.code == .unavailable && attempt < 3 && !started.withLock({ $0 }) {
                attempt += 1
            }
        }
    }

    static func runOnce<Result: Sendable>(
        _ configuration: HubConfiguration,
        logger: Logger?,
        _ body: @Sendable (RunningHub) async throws -> Result
    ) async throws -> Result {
        let logger = logger ?? makeTestLogger("test.hub")
        let registry = PrometheusCollectorRegistry()
        let database = try Database(
            configuration: configuration.database,
            logger: logger,
            metricsFactory: PrometheusMetricsFactory(registry: registry)
        )
        let migrator = Migrator(
            migrations: try MigrationSet(directory: configuration.database.migrationsDirectory),
            database: database,
            logger: logger
        )
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let (mllpPorts, mllpContinuation) = AsyncStream<Int>.makeStream()
        let suite = try CryptoProfile.load(
            named: configuration.crypto.profile,
            directory: configuration.crypto.profilesDirectory
        ).makeSuite()
        let algorithms = AlgorithmRegistry.standard(preferring: suite)
        let keyStore = try FileKeyStore(directory: configuration.crypto.keyDirectory, registry: algorithms)
        let dependencies = try HubApplication.Dependencies.live(
            configuration: configuration, database: database, migrator: migrator, suite: suite, keyStore: keyStore,
            metricsRegistry: registry, logger: logger
        )
        // The tests' own changes to tokens and principals empty the hub's cache of grants, as the
        // hub's own would.
        let grants = dependencies.tokens.grants
        let application = try HubApplication.build(
            configuration: configuration,
            dependencies: dependencies,
            onServerRunning: { port in portContinuation.yield(port) },
            onMLLPListening: { port in mllpContinuation.yield(port) }
        )
        let pki = try TestEnvironment.pki()
        // A service group, so the hub stops the way `hub serve` does on SIGTERM: gracefully.
        let serviceGroup = ServiceGroup(services: [application], logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await serviceGroup.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                // The application stopped before listening: surface its error.
                _ = try await group.next()
                throw StartFailure(description: "the hub stopped before it listened")
            }
            var mllpPort: Int?
            if configuration.hl7.mllpEnabled {
                var mllpIterator = mllpPorts.makeAsyncIterator()
                mllpPort = await mllpIterator.next()
            }
            mllpContinuation.finish()
            let directory = IdentityDirectory(database: database, registry: algorithms, grants: grants, logger: logger)
            let tokens = AccessTokens(
                database: database, lifetime: .seconds(3600), emergencyLifetime: .seconds(600), grants: grants, logger: logger)
            let hub = RunningHub(
                port: port, mllpPort: mllpPort, configuration: configuration, metricsRegistry: registry, pki: pki, directory: directory,
                tokens: tokens, directoryMirror: dependencies.directoryMirror
            )
            do {
                // A hub that has not migrated (readiness tests) has no tables to register in.
                // Registered through a pool of its own: outage tests give the hub's pool
                // deadlines too short for set-up on a loaded machine.
                if configuration.database.migrateOnStart, let url = configuration.database.url {
                    try await Self.registerIdentities(in: url, registry: algorithms, grants: grants, logger: logger)
                    // Their FHIR resources before the first request, as a hub started on a
                    // registered directory has them (the periodic pass would come later). Through
                    // the hub's pool, whose deadlines some tests make one second: tried again,
                    // for as long as a loaded machine (a full parallel run) may need.
                    for attempt in 1...15 {
                        do {
                            try await dependencies.directoryMirror.reconcile()
                            break
                        } catch  where attempt < 15 {
                            try await Task.sleep(for: .seconds(1))
                        }
                    }
                }
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            do {
                let result = try await body(hub)
                await serviceGroup.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}
