import Foundation
import HubConfig
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
    }
}
