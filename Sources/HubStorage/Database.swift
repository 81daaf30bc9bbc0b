public import HubConfig
public import Logging
public import Metrics
import NIOCore
import NIOSSL
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// The hub's way into PostgreSQL: a connection pool with a deadline on every operation.
///
/// Every operation — waiting for a connection included — is bounded by
/// `database.operation_timeout_seconds`, so a database that is down or stuck makes requests
/// fail fast with a transient ``StorageError`` (HTTP 503) instead of hanging; the pool
/// reconnects by itself with back-off when the database returns.
///
/// `Database` is a `Service`: the pool works only while ``run()`` runs in the service group
/// (PostgresNIO queues queries until then).
public struct Database: Sendable, Service {
    let client: PostgresClient
    /// How long one operation may take, connection included (`database.operation_timeout_seconds`).
    public let operationTimeout: Duration
    /// Where operation deadlines are timed: the event loops the pool's connections run on.
    let timers: any EventLoopGroup = PostgresClient.defaultEventLoopGroup
    let logger: Logger
    let metrics: DatabaseMetrics
    /// Where the database is, for connections outside the pool (``DatabaseWatch``).
    let url: DatabaseURL
    let connectTimeout: Duration
    /// Whether the database is reachable, kept by ``DatabaseWatch``.
    public let health = DatabaseHealth()
    /// Whether the database's disk is full, for ``DiskReserve`` and the writes it refuses.
    public let disk = DiskSpace()
    /// Which operation holds each pooled connection, to end it when its connection closes.
    let leases = LeasedConnections()

    /// - Parameters:
    ///   - configuration: The `[database]` settings; `url` must be set.
    ///   - logger: For pool events (connection failures); never receives query parameters.
    ///   - metricsFactory: Where pool figures go (the hub's Prometheus registry).
    public init(
        configuration: HubConfiguration.Database,
        logger: Logger,
        metricsFactory: any MetricsFactory
    ) throws(StorageError) {
        guard let url = configuration.url else {
            throw StorageError(.unavailable, "database.url is not set")
        }
        var clientConfiguration = try Self.clientConfiguration(url: url)
        // One more than configured: a listener (``listen(_:heartbeat:_:)``) holds one for good.
        clientConfiguration.options.maximumConnections = configuration.maxConnections + 1
        clientConfiguration.options.connectTimeout = .seconds(configuration.connectTimeoutSeconds)
        // The server cancels statements that outlive the operation deadline itself, so an
        // abandoned query stops using the database too (SQLSTATE 57014 → 503).
        clientConfiguration.options.additionalStartupParameters = [
            ("application_name", "health-records-hub"),
            ("statement_timeout", "\(configuration.operationTimeoutSeconds * 1000)"),
        ]
        self.client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.url = url
        self.connectTimeout = .seconds(configuration.connectTimeoutSeconds)
        self.operationTimeout = .seconds(configuration.operationTimeoutSeconds)
        self.logger = logger
        self.metrics = DatabaseMetrics(factory: metricsFactory, maximumConnections: configuration.maxConnections)
    }

    /// Runs the connection pool until the service group shuts down.
    public func run() async throws {
        await self.client.run()
    }

    /// Leases a connection for `body`, within the operation deadline.
    ///
    /// - Parameter operation: A fixed label for logs and errors ("readiness check"); never data.
    ///   - timeout: Overrides the configured deadline (migrations run longer).
    public func withConnection<Result: Sendable>(
        _ operation: String,
        timeout: Duration? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try self.requireReachable(operation)
        let lease = LeaseSignal()
        return try await self.withDeadline(operation, timeout: timeout ?? self.operationTimeout, lease: lease) {
            try await self.client.withConnection { connection in
                try await ConnectionLease.run(on: connection) {
                    try await self.leases.hold(connection, for: lease) { try await body(connection) }
                }
            }
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func withTransaction<Result: Sendable>(
        _ operation: String,
        timeout: Duration? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try self.requireReachable(operation)
        let lease = LeaseSignal()
        return try await self.withDeadline(operation, timeout: timeout ?? self.operationTimeout, lease: lease) {
            try await self.client.withConnection { connection in
                try await ConnectionLease.run(on: connection) {
                    try await self.leases.hold(connection, for: lease) {
                        try await connection.transaction(logger: self.logger) { connection in
                            try await body(connection)
                        }
                    }
                }
            }
        }
    }

    /// Fails at once while the database is known to be down (``DatabaseHealth``): waiting for
    /// a connection could only end at the deadline.
    private func requireReachable(_ operation: String) throws(StorageError) {
        if self.health.isDown {
            throw StorageError(.unavailable, "database unreachable (\(operation) not attempted)")
        }
    }

    /// A connection of its own, outside the pool and its limits, within the connect timeout:
    /// for watching the database (the caller closes it).
    func connectOutsideThePool(name: String, logger: Logger) async throws -> PostgresConnection {
        var configuration = try Self.connectionConfiguration(url: self.url)
        let (seconds, attoseconds) = self.connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = [("application_name", name)]
        return try await PostgresConnection.connect(
            on: self.timers.any(), configuration: configuration, id: 0, logger: logger)
    }

    /// Checks that the database answers.
    public func ping() async throws(StorageError) {
        try await StorageError.typed("ping") {
            try await self.withConnection("ping") { connection in
                try await connection.run("SELECT 1", logger: self.logger)
                return ()
            }
        }
    }

    /// Races `body` against the deadline; either way the loser is cancelled (a lease waiting for
    /// a connection is withdrawn, a running query is cancelled).
    ///
    /// The caller is answered as soon as one side finishes, without waiting for the other to
    /// wind down: a lease on a pool that has stopped (the hub failing to start, shutting down)
    /// does not end even when cancelled, and must not hold its caller forever.
    ///
    /// Database failures come out as ``StorageError``; an error of the caller's own thrown from
    /// `body` (a validation or precondition failure in a transaction) comes out unchanged, after
    /// the transaction was rolled back.
    ///
    /// With a `lease`, its connection closing or the database going down (``DatabaseHealth``)
    /// ends the operation early where it cannot succeed: see ``LeaseSignal``.
    func withDeadline<Result: Sendable>(
        _ operation: String,
        timeout: Duration,
        lease: LeaseSignal? = nil,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let start = ContinuousClock.now
        self.metrics.inFlight.increment()
        defer { self.metrics.inFlight.decrement() }
        do {
            let outcome = FirstOutcome<Result>()
            let result = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                    outcome.start(continuation)
                    let registration = lease.map { lease in
                        let unreachable = StorageError(.unavailable, "the database became unreachable during \(operation)")
                        let health = self.health
                        let registration = health.whenDown {
                            if lease.mayEndEarly { outcome.finish(.failure(unreachable)) }
                        }
                        // It may have gone down since the caller looked.
                        if health.isDown, lease.mayEndEarly { outcome.finish(.failure(unreachable)) }
                        return registration
                    }
                    lease?.whenLost {
                        outcome.finish(.failure(StorageError(.unavailable, "the database connection closed during \(operation)")))
                    }
                    let work = Task {
                        do {
                            outcome.finish(.success(try await body()))
                        } catch {
                            outcome.finish(.failure(error))
                        }
                    }
                    // A timer on the pool's event loops, not a sleeping task: one task fewer
                    // per operation, and no dispatch timer to arm and disarm.
                    let (seconds, attoseconds) = timeout.components
                    let timer = self.timers.any().scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                        outcome.finish(.failure(StorageError(.timeout, "\(operation) took longer than \(timeout)")))
                    }
                    outcome.onFinish {
                        work.cancel()
                        timer.cancel()
                        if let registration { self.health.forget(registration) }
                    }
                }
            } onCancel: {
                outcome.finish(.failure(CancellationError()))
            }
            self.metrics.recordDuration(ContinuousClock.now - start, outcome: "ok")
            return result
        } catch {
            guard StorageError.isDatabaseFailure(error) else {
                self.metrics.recordDuration(ContinuousClock.now - start, outcome: "rejected")
                throw error
            }
            let storageError = StorageError.classify(error, operation: operation)
            if storageError.isDiskFull, self.disk.markFull() {
                self.logger.error("the database's disk is full (SQLSTATE 53100): writes of records are refused (503) until space is freed")
            }
            self.metrics.recordDuration(ContinuousClock.now - start, outcome: storageError.code.description)
            throw storageError
        }
    }

    static func clientConfiguration(url: DatabaseURL) throws(StorageError) -> PostgresClient.Configuration {
        switch url.endpoint {
        case .unixSocket(let path):
            return PostgresClient.Configuration(
                unixSocketPath: path,
                username: url.username,
                password: url.password,
                database: url.database
            )
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch Self.tls(url) {
            case nil: tls = .disable
            case (let configuration, let required)?: tls = required ? .require(configuration) : .prefer(configuration)
            }
            return PostgresClient.Configuration(
                host: host,
                port: port,
                username: url.username,
                password: url.password,
                database: url.database,
                tls: tls
            )
        }
    }

    /// The same database as ``clientConfiguration(url:)``, for a single connection.
    static func connectionConfiguration(url: DatabaseURL) throws -> PostgresConnection.Configuration {
        switch url.endpoint {
        case .unixSocket(let path):
            return PostgresConnection.Configuration(
                unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            switch Self.tls(url) {
            case nil: tls = .disable
            case (let configuration, let required)?:
                let context = try NIOSSLContext(configuration: configuration)
                tls = required ? .require(context) : .prefer(context)
            }
            return PostgresConnection.Configuration(
                host: host, port: port, username: url.username, password: url.password, database: url.database, tls: tls)
        }
    }

    /// TLS for `url`'s `sslmode`, and whether it is required; nil when disabled.
    private static func tls(_ url: DatabaseURL) -> (configuration: TLSConfiguration, required: Bool)? {
        switch url.sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            // libpq semantics: encrypt, but do not verify the server (use verify-full for that).
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return (configuration, url.sslMode == .require)
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            configuration.minimumTLSVersion = .tlsv12
            if let root = url.sslRootCertificate {
                configuration.trustRoots = .file(root)
            }
            return (configuration, true)
        }
    }
}
