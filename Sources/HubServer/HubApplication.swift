import Foundation
public import HubAccess
public import HubAudit
public import HubBulkData
public import HubConfig
public import HubCrypto
import HubFHIRXML
public import HubNotifications
import HubOpenData
public import HubResources
public import HubStorage
public import HubWorkflows
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
public import Prometheus
import ServiceLifecycle

/// Assembles the hub's HTTPS application from its parts.
///
/// `hub serve` and the tests call the same function with the same kinds of parts, so what the
/// tests exercise is what production runs.
public enum HubApplication {
    /// The long-lived collaborators the application is built from — every service it uses, so
    /// that each can be replaced in a test; ``Dependencies/live(configuration:database:migrator:suite:keyStore:metricsRegistry:logger:)``
    /// builds them as `hub serve` runs them.
    public struct Dependencies: Sendable {
        public var database: Database
        public var migrator: Migrator
        /// The suite new data is written and signed with.
        public var suite: CryptoSuite
        public var keyStore: any KeyStore
        /// The clinical record store and the validator in front of it.
        public var resources: any ResourceStore
        public var validator: ResourceValidator
        /// The audit log and the group-committing writer that request records go through.
        public var auditLog: AuditLog
        public var auditWriter: AuditWriter
        /// The access tables as audit reports check reads against them; nil: reports without
        /// that finding.
        public var accessBasis: (any AccessBasisCheck)?
        /// Who is registered, and their tokens.
        public var directory: IdentityDirectory
        public var tokens: AccessTokens
        /// Notifications waiting or sent, and how a delivery goes out (made when the dispatcher
        /// starts).
        public var outbox: NotificationOutbox
        public var notificationChannel: @Sendable () throws -> any NotificationChannel
        /// Bulk export jobs and the store their pages are read from (the record store itself,
        /// without the workflow rules, which only judge writes).
        public var exportJobs: ExportJobStore
        /// Bulk import jobs and their staged inputs (written through `exportSource` too).
        public var importJobs: ImportJobStore
        public var exportSource: PostgresResourceStore
        /// Which other organizations' results `$lastn` tags as mutually recognised.
        public var recognition: MutualRecognitionPolicy
        /// The registry `/metrics` exposes; the database's figures should be in it too.
        public var metricsRegistry: PrometheusCollectorRegistry
        public var logger: Logger
        /// Set when the hub is about to stop: `/readyz` then answers 503 (``DrainNotice``).
        public var drain = DrainNotice()
        /// The directory's organizations and clinicians as FHIR resources (of `directory`, in
        /// `resources`): one per hub, so that its passes know what they mirrored.
        public let directoryMirror: DirectoryMirror

        public init(
            database: Database, migrator: Migrator, suite: CryptoSuite, keyStore: any KeyStore, resources: any ResourceStore,
            validator: ResourceValidator, auditLog: AuditLog, auditWriter: AuditWriter, accessBasis: (any AccessBasisCheck)?,
            directory: IdentityDirectory, tokens: AccessTokens, outbox: NotificationOutbox,
            notificationChannel: @escaping @Sendable () throws -> any NotificationChannel, exportJobs: ExportJobStore, importJobs: ImportJobStore,
            exportSource: PostgresResourceStore, recognition: MutualRecognitionPolicy,
            metricsRegistry: PrometheusCollectorRegistry, logger: Logger
        ) {
            self.database = database
            self.migrator = migrator
            self.suite = suite
            self.keyStore = keyStore
            self.resources = resources
            self.validator = validator
            self.auditLog = auditLog
            self.auditWriter = auditWriter
            self.accessBasis = accessBasis
            self.directory = directory
            self.tokens = tokens
            self.outbox = outbox
            self.notificationChannel = notificationChannel
            self.exportJobs = exportJobs
            self.importJobs = importJobs
            self.exportSource = exportSource
            self.recognition = recognition
            self.metricsRegistry = metricsRegistry
            self.logger = logger
            self.directoryMirror = DirectoryMirror(directory: directory, store: resources, logger: logger)
        }
    }

    /// Builds the application. Run it with `runService()` (signals drain it) or inside a
    /// service group.
    ///
    /// - Parameters:
    ///   - onServerRunning: Called with the bound port once the listener is up (tests bind port 0).
    /// - Throws: ``ConfigurationError`` when the TLS files cannot be used.
    public static func build(
        configuration: HubConfiguration,
        dependencies: Dependencies,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onMLLPListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(ConfigurationError) -> some ApplicationProtocol {
        let tls = try ServerTLS.configuration(configuration.tls)
        let router = Router(context: HubRequestContext.self)
        // Order matters: a middleware sees what those after it produce, and routes must be
        // added after the middleware that should wrap them.
        router.add(middleware: DrainMiddleware(notice: dependencies.drain))
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestHeadLimitMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: dependencies.metricsRegistry)))
        router.add(middleware: FHIRXMLResponseMiddleware(writer: FHIRXMLWriter(table: dependencies.validator.structureTable)))
        let registry = AlgorithmRegistry.standard(preferring: dependencies.suite)
        let directory = dependencies.directory
        let tokens = dependencies.tokens
        let authenticator = Authenticator(
            directory: directory, tokens: tokens, registry: registry,
            failedLogins: AttemptLimiter(
                attempts: configuration.access.failedLoginLimit, window: TimeInterval(60 * configuration.access.failedLoginWindowMinutes))
        )
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator))
        router.add(middleware: AuditMiddleware(writer: dependencies.auditWriter, recordReads: configuration.audit.recordReads))
        router.add(middleware: ErrorResponseMiddleware())
        router.add(middleware: BodyLimitMiddleware(maxBytes: configuration.server.maxBodyBytes))
        router.add(middleware: FHIRXMLRequestMiddleware(reader: FHIRXMLReader(table: dependencies.validator.structureTable)))

        HealthRoutes(
            readiness: StorageReadiness(migrator: dependencies.migrator, health: dependencies.database.health, drain: dependencies.drain)
        ).add(to: router)
        MetricsRoutes(registry: dependencies.metricsRegistry).add(to: router)
        WhoAmIRoutes().add(to: router)
        PublishedKeysRoutes(keyStore: dependencies.keyStore, suite: dependencies.suite).add(to: router)
        MetadataRoutes(startedAt: Date(), mutualTLS: configuration.tls.clientAuthentication).add(to: router)
        AuditEventRoutes(log: dependencies.auditLog).add(to: router)
        let clinical = router.group("fhir").add(middleware: AccessGate.clinical)
        FHIRResourceRoutes(
            store: dependencies.resources, validator: dependencies.validator,
            registrations: AttemptLimiter(
                attempts: configuration.access.registrationLimit, window: TimeInterval(60 * configuration.access.registrationWindowMinutes))
        ).add(to: clinical)
        let recognition = dependencies.recognition
        FHIRSearchRoutes(store: dependencies.resources, recognition: recognition, validator: dependencies.validator).add(to: clinical)
        ValidateOperation(validator: dependencies.validator).add(to: clinical)
        PatientMatchOperation(
            matcher: PatientMatch(store: dependencies.resources, systems: dependencies.validator.identifierSystems)
        ).add(to: clinical)
        MetaOperations(store: dependencies.resources, validator: dependencies.validator).add(to: clinical)
        BulkExportRoutes(
            jobs: dependencies.exportJobs, store: dependencies.resources, directory: dependencies.directory,
            retryAfterSeconds: max(1, (configuration.export.pollMilliseconds + 999) / 1000)
        )
        .add(to: clinical)
        BulkImportRoutes(
            jobs: dependencies.importJobs, inputLifetime: .seconds(3600 * configuration.export.fileLifetimeHours),
            retryAfterSeconds: max(1, (configuration.export.pollMilliseconds + 999) / 1000)
        )
        .add(to: clinical)
        FHIRBundleRoutes(
            processor: BundleProcessor(
                store: dependencies.resources, validator: dependencies.validator,
                searcher: SearchAnswer(store: dependencies.resources, recognition: recognition, validator: dependencies.validator))
        ).add(to: router)
        AuditLogRoutes(
            log: dependencies.auditLog,
            reporter: AuditReporter(
                log: dependencies.auditLog, keyStore: dependencies.keyStore, suite: dependencies.suite,
                basis: dependencies.accessBasis
            )
        ).add(to: router)
        AuthRoutes(
            authenticator: authenticator, tokens: tokens,
            endpoint: .init(publicURL: configuration.server.publicURL, host: configuration.server.host)
        ).add(to: router)
        // The directory's organizations and clinicians as FHIR resources, kept in step with it.
        let mirror = dependencies.directoryMirror
        AdminRoutes(directory: directory, mirror: mirror).add(to: router)
        let openDatasets = OpenDatasetStore(
            database: dependencies.database, keyStore: dependencies.keyStore, suite: dependencies.suite,
            minimumK: configuration.openData.minimumK, epsilonBudget: Double(configuration.openData.epsilonBudget), logger: dependencies.logger)
        OpenDataRoutes(store: openDatasets).add(to: router)
        let intake = LabResultIntake(store: dependencies.resources, validator: dependencies.validator)
        HL7Routes(intake: intake).add(to: router)
        var services: [any Service] = [
            dependencies.database,
            DatabaseWatch(database: dependencies.database, logger: dependencies.logger),
            // After the database: stopped before it, so that its lease ends while the pool runs.
            AccessChangeFeed(database: dependencies.database, grants: tokens.grants, logger: dependencies.logger),
            AuditSequencer(
                log: dependencies.auditLog,
                checkpointInterval: .seconds(configuration.audit.checkpointIntervalSeconds),
                logger: dependencies.logger
            ),
            mirror,
        ]
        if configuration.database.diskReserveMegabytes > 0 {
            services.append(
                DiskReserve(
                    database: dependencies.database, megabytes: configuration.database.diskReserveMegabytes,
                    retryInterval: .seconds(configuration.database.diskRetrySeconds), logger: dependencies.logger))
        }
        let outbox = dependencies.outbox
        NotificationRoutes(outbox: outbox).add(to: router)
        let subscriptions = configuration.subscriptions
        services.append(
            NotificationDispatcher(
                outbox: outbox, store: dependencies.resources,
                channel: dependencies.notificationChannel,
                settings: .init(
                    baseURL: configuration.server.baseURL + "/fhir",
                    schedule: RetrySchedule(
                        initial: .seconds(subscriptions.retryInitialSeconds),
                        maximum: .seconds(subscriptions.retryMaxSeconds),
                        giveUpAfter: .seconds(subscriptions.giveUpAfterSeconds)
                    ),
                    pollInterval: .milliseconds(subscriptions.pollMilliseconds),
                    lease: .seconds(2 * subscriptions.deliveryTimeoutSeconds + 5),
                    addresses: OutboundAddressPolicy(allowed: subscriptions.allowedEndpointNetworks)
                ),
                logger: dependencies.logger
            )
        )
        services.append(
            ExportRunner(
                jobs: dependencies.exportJobs, store: dependencies.exportSource,
                settings: .init(
                    pollInterval: .milliseconds(configuration.export.pollMilliseconds), lease: .seconds(configuration.export.leaseSeconds),
                    fileLifetime: .seconds(3600 * configuration.export.fileLifetimeHours),
                    settleDelay: .seconds(3 * configuration.database.operationTimeoutSeconds + 1)),
                logger: dependencies.logger))
        services.append(
            ImportRunner(
                jobs: dependencies.importJobs, store: dependencies.exportSource, validator: dependencies.validator,
                settings: .init(
                    pollInterval: .milliseconds(configuration.export.pollMilliseconds), lease: .seconds(configuration.export.leaseSeconds),
                    lifetime: .seconds(3600 * configuration.export.fileLifetimeHours)),
                logger: dependencies.logger))
        services.append(
            OpenDataRunner(
                datasets: openDatasets, records: dependencies.exportSource,
                settings: .init(
                    pollInterval: .milliseconds(configuration.openData.pollMilliseconds), lease: .seconds(configuration.openData.leaseSeconds),
                    maximumSuppression: Double(configuration.openData.maximumSuppressionPercent) / 100),
                logger: dependencies.logger))
        if let syslogHost = configuration.audit.syslogHost {
            // Refused at start when the setting itself names an internal address (a name is
            // judged on what it resolves to, at each connection).
            if let refusal = OutboundAddressPolicy(allowed: configuration.audit.syslogAllowedNetworks).refusal(host: syslogHost) {
                throw ConfigurationError(setting: "audit.syslog_host", message: "\(refusal): allow its network in audit.syslog_allowed_networks")
            }
            services.append(
                SyslogFeed(
                    log: dependencies.auditLog, host: syslogHost, port: configuration.audit.syslogPort,
                    tls: try ServerTLS.clientConfiguration(
                        configuration.tls, trustRoots: configuration.audit.syslogTrustRoots, setting: "audit.syslog_trust_roots"),
                    addresses: OutboundAddressPolicy(allowed: configuration.audit.syslogAllowedNetworks),
                    logger: dependencies.logger
                )
            )
        }
        if configuration.hl7.mllpEnabled {
            guard configuration.tls.clientCA != nil else {
                throw ConfigurationError(
                    setting: "hl7.mllp_enabled", message: "MLLP senders are authenticated by client certificates: set tls.client_ca")
            }
            services.append(
                MLLPListener(
                    host: configuration.server.host, port: configuration.hl7.mllpPort, tls: tls,
                    authenticator: authenticator, intake: intake, auditWriter: dependencies.auditWriter,
                    logger: dependencies.logger, onListening: onMLLPListening
                )
            )
        }

        let server: HTTPServerBuilder
        do {
            let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
                maxHeaderFieldSize: RequestHeadLimits.parserBytes, maxHeaderListSize: RequestHeadLimits.parserBytes,
                maxHeaderFieldCount: RequestHeadLimits.headerFieldCount)
            let http = HTTP1Channel.Configuration(
                additionalChannelHandlers: [UnparsableRequestResponder()], httpDecoderConfiguration: decoder)
            _ = try NIOSSLContext(configuration: tls)  // refused here, not when the server starts
            let onEventLoop = configuration.server.handlersOnEventLoop
            server = HTTPServerBuilder { responder in
                let channel = try TLSChannel(HTTP1Channel(responder: responder, configuration: http), tlsConfiguration: tls)
                return onEventLoop ? EventLoopBoundChannel(base: channel) : channel
            }
        } catch {
            throw ConfigurationError(setting: "tls", message: "cannot build the TLS server: \(error)")
        }
        var application = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.server.host, port: configuration.server.port),
                serverName: nil
            ),
            // Shut down in reverse: the sequencer integrates what is queued while the database
            // is still up.
            services: services,
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? 0)
            },
            logger: dependencies.logger
        )
        let check = StartupCheck(
            migrator: dependencies.migrator,
            database: dependencies.database,
            keyStore: dependencies.keyStore,
            suite: dependencies.suite,
            logger: dependencies.logger,
            migrateOnStart: configuration.database.migrateOnStart,
            generateKeys: configuration.crypto.generateKeys
        )
        application.beforeServerStarts {
            try await check.run()
            // Before the first request: every reference the hub writes resolves from the start.
            await mirror.pass()
        }
        return application
    }
}
