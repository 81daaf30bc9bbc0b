import Foundation
import HubConfig
import HubCrypto
import HubFHIR
import HubKeys
import HubResources
import HubServer
import HubStorage
import Logging
import Metrics
import Prometheus

/// The process-wide set-up shared by the commands: logging, metrics and the database parts.
///
/// `LoggingSystem` and `MetricsSystem` may be bootstrapped once per process, so that happens here,
/// in the executable, and never in library code that tests build many times.
struct Runtime {
    let logger: Logger
    let metricsRegistry: PrometheusCollectorRegistry
    let database: Database
    let migrator: Migrator
    let suite: CryptoSuite
    let registry: AlgorithmRegistry
    let keyStore: any KeyStore

    init(configuration: HubConfiguration) throws {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler
            switch configuration.log.format {
            case .json: handler = JSONLogHandler(label: label)
            case .text: handler = StreamLogHandler.standardError(label: label)
            }
            handler.logLevel = Logger.Level(rawValue: configuration.log.level.rawValue) ?? .info
            return handler
        }
        self.logger = Logger(label: "hub")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        self.metricsRegistry = registry
        do {
            self.database = try Database(
                configuration: configuration.database,
                logger: Logger(label: "hub.database"),
                metricsFactory: PrometheusMetricsFactory(registry: registry)
            )
            let migrations = try MigrationSet(directory: configuration.database.migrationsDirectory)
            self.migrator = Migrator(migrations: migrations, database: self.database, logger: self.logger)
        } catch {
            throw FailureExit(message: error.description)
        }
        do {
            let profile = try CryptoProfile.load(
                named: configuration.crypto.profile,
                directory: configuration.crypto.profilesDirectory
            )
            self.suite = try profile.makeSuite()
            self.registry = AlgorithmRegistry.standard(preferring: self.suite)
            switch configuration.crypto.keyStore {
            case .file:
                self.keyStore = try FileKeyStore(directory: configuration.crypto.keyDirectory, registry: self.registry)
            }
        } catch {
            throw FailureExit(message: error.description, code: .configuration)
        }
    }

    /// The clinical record store over this runtime's database and keys, wired as the test hub
    /// wires it (``PostgresResourceStore/init(database:ring:logger:configuration:residentIDSystem:)``).
    func resourceStore(identifierSystems: IdentifierSystems, configuration: HubConfiguration) -> PostgresResourceStore {
        PostgresResourceStore(
            database: self.database, ring: self.dataKeyRing(), logger: Logger(label: "hub.resources"),
            configuration: configuration, residentIDSystem: identifierSystems.residentID
        )
    }

    /// The data-key ring for commands that work on data keys (`hub keys …`).
    func dataKeyRing() -> DataKeyRing {
        DataKeyRing(
            database: self.database,
            keyStore: self.keyStore,
            suite: self.suite,
            registry: self.registry,
            logger: self.logger
        )
    }
}
