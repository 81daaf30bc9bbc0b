public import HubConfig
public import Logging
public import Metrics
public import PostgresNIO
public import ServiceLifecycle
import NIOSSL

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
    let operationTimeout: Duration
    let logger: Logger
    let metrics: DatabaseMetrics

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
        clientConfiguration.options.maximumConnections = configuration.maxConnections
        clientConfiguration.options.connectTimeout = .seconds(configuration.connectTimeoutSeconds)
        // The server cancels statements that outlive the operation deadline itself, so an
        // abandoned query stops using the database too (SQLSTATE 57014 → 503).
        clientConfiguration.options.additionalStartupParameters = [
            ("application_name", "health-records-hub"),
            ("statement_timeout", "\(configuration.operationTimeoutSeconds * 1000)"),
        ]
        self.client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
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
        try await self.withDeadline(operation, timeout: timeout ?? self.operationTimeout) {
            try await self.client.withConnection { connection in
                try await body(connection)
            }
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func withTransaction<Result: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await self.withDeadline(operation, timeout: self.operationTimeout) {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await body(connection)
            }
        }
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
    /// Database failures come out as ``StorageError``; an error of the caller's own thrown from
    /// `body` (a validation or precondition failure in a transaction) comes out unchanged, after
    /// the transaction was rolled back.
    private func withDeadline<Result: Sendable>(
        _ operation: String,
        timeout: Duration,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let start = ContinuousClock.now
        self.metrics.inFlight.increment()
        defer { self.metrics.inFlight.decrement() }
        do {
            let result = try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw StorageError(.timeout, "\(operation) took longer than \(timeout)")
                }
                return value
            }
            self.metrics.recordDuration(ContinuousClock.now - start, outcome: "ok")
            return result
        } catch {
            let cause = StorageError.unwrapTransaction(error)
            guard StorageError.isDatabaseFailure(cause) else {
                self.metrics.recordDuration(ContinuousClock.now - start, outcome: "rejected")
                throw cause
            }
            let storageError = StorageError.classify(cause, operation: operation)
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
            switch url.sslMode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                // libpq semantics: encrypt, but do not verify the server (use verify-full for that).
                var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
                tlsConfiguration.certificateVerification = .none
                tls = url.sslMode == .prefer ? .prefer(tlsConfiguration) : .require(tlsConfiguration)
            case .verifyFull:
                var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
                tlsConfiguration.certificateVerification = .fullVerification
                tlsConfiguration.minimumTLSVersion = .tlsv12
                if let root = url.sslRootCertificate {
                    tlsConfiguration.trustRoots = .file(root)
                }
                tls = .require(tlsConfiguration)
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
}
