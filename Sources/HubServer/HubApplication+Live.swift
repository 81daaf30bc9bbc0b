import HubAccess
import HubAudit
import HubBulkData
public import HubConfig
public import HubCrypto
import HubKeys
import HubNotifications
import HubResources
public import HubStorage
import HubWorkflows
public import Logging
public import Prometheus

extension HubApplication.Dependencies {
    /// The hub's parts as `hub serve` runs them — and the test hub: one wiring, so that what the
    /// tests exercise is what production runs. The process-wide parts (the database pool, its
    /// migrations, the suite and key store, the metrics registry, the logger) come from the
    /// caller; the record store (with the workflow rules), the validator, the audit log, the
    /// identity directory and tokens, the notification outbox and channel, the access basis and
    /// the mutual-recognition policy are built here from the configuration.
    public static func live(
        configuration: HubConfiguration,
        database: Database,
        migrator: Migrator,
        suite: CryptoSuite,
        keyStore: any KeyStore,
        metricsRegistry: PrometheusCollectorRegistry,
        logger: Logger
    ) throws(ConfigurationError) -> Self {
        let validator = try ResourceValidator.load(profilesDirectory: configuration.fhir.profilesDirectory)
        let residentID = validator.identifierSystems.residentID
        let ring = DataKeyRing(
            database: database, keyStore: keyStore, suite: suite, registry: AlgorithmRegistry.standard(preferring: suite), logger: logger)
        let store = PostgresResourceStore(database: database, ring: ring, logger: logger, configuration: configuration, residentIDSystem: residentID)
        // One cache of resolved credentials: the directory and the tokens empty it when they change
        // what it holds; the application keeps it in step with other writers (AccessChangeFeed).
        let grants = GrantCache()
        let auditLog = AuditLog(database: database, suite: suite, keyStore: keyStore, origin: configuration.audit.origin, logger: logger)
        let recognition: MutualRecognitionPolicy
        do {
            recognition = try MutualRecognitionPolicy.load(profilesDirectory: configuration.fhir.profilesDirectory)
        } catch {
            throw ConfigurationError(setting: "fhir.profiles_directory", message: "mutual-recognition.json is not a valid policy: \(error)")
        }
        let subscriptions = configuration.subscriptions
        return Self(
            database: database,
            migrator: migrator,
            suite: suite,
            keyStore: keyStore,
            resources: WorkflowStore(
                base: store,
                rules: WorkflowStore.hubRules(
                    residentIDSystem: residentID, addresses: OutboundAddressPolicy(allowed: configuration.subscriptions.allowedEndpointNetworks))
            ),
            validator: validator,
            auditLog: auditLog,
            auditWriter: AuditWriter(log: auditLog),
            accessBasis: PostgresAccessBasis(database: database, logger: logger),
            directory: IdentityDirectory(
                database: database, registry: AlgorithmRegistry.standard(preferring: suite), grants: grants, logger: logger),
            tokens: AccessTokens(
                database: database, lifetime: .seconds(60 * configuration.access.tokenLifetimeMinutes),
                emergencyLifetime: .seconds(60 * configuration.access.breakGlassMinutes), grants: grants, logger: logger
            ),
            outbox: NotificationOutbox(database: database, logger: logger),
            notificationChannel: {
                try RestHookChannel(
                    trustRoots: subscriptions.trustRoots, timeout: .seconds(subscriptions.deliveryTimeoutSeconds),
                    addresses: OutboundAddressPolicy(allowed: subscriptions.allowedEndpointNetworks)
                )
            },
            exportJobs: ExportJobStore(database: database, ring: ring, logger: logger),
            importJobs: ImportJobStore(database: database, ring: ring, logger: logger),
            exportSource: store,
            recognition: recognition,
            metricsRegistry: metricsRegistry,
            logger: logger
        )
    }
}
