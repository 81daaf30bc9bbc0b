import ArgumentParser
import Foundation
import HubAudit
import HubConfig
import HubCrypto
import HubResources
import HubServer
import HubStorage
import HubWorkflows
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the hub over HTTPS until SIGTERM or SIGINT, which drain in-flight requests."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await self.reportingFailures {
            let configuration = try self.options.load()
            if !configuration.audit.recordReads, ProcessInfo.processInfo.environment["HUB_BENCHMARK_ONLY"] != "1" {
                throw FailureExit(
                    message: "audit.record_reads = false is for measuring the audit trail's cost only: set HUB_BENCHMARK_ONLY=1 to confirm",
                    code: .configuration
                )
            }
            let runtime = try Runtime(configuration: configuration)
            let logger = runtime.logger
            if !configuration.audit.recordReads {
                logger.warning("BENCHMARK MODE: reads, searches and denials are not audited")
            }
            let application: any ApplicationProtocol
            let drain = DrainNotice()
            do throws(ConfigurationError) {
                var dependencies = try HubApplication.Dependencies.live(
                    configuration: configuration, database: runtime.database, migrator: runtime.migrator, suite: runtime.suite,
                    keyStore: runtime.keyStore, metricsRegistry: runtime.metricsRegistry, logger: logger
                )
                dependencies.drain = drain
                application = try HubApplication.build(
                    configuration: configuration,
                    dependencies: dependencies,
                    onServerRunning: { port in
                        logger.notice(
                            "serving",
                            metadata: [
                                "url": "https://\(configuration.server.host):\(port)",
                                "client_auth": "\(configuration.tls.clientAuthentication.rawValue)",
                            ]
                        )
                    }
                )
            } catch {
                throw FailureExit(message: error.description, code: .configuration)
            }
            do {
                // Drained within a bound: requests in flight end at their operation deadline,
                // so a drain that outlasts it by far is stuck (a lease the database never
                // answered), and the rest is cancelled rather than waited for.
                // The withdrawal first: /readyz says 503 for drain_delay_seconds before the
                // application hears of the shutdown (services stop in reverse order).
                let withdrawal = ReadinessWithdrawal(notice: drain, delay: .seconds(configuration.server.drainDelaySeconds), logger: logger)
                var group = ServiceGroupConfiguration(
                    services: [.init(service: application), .init(service: withdrawal)], gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger)
                group.maximumGracefulShutdownDuration = .seconds(
                    configuration.server.drainDelaySeconds + configuration.database.operationTimeoutSeconds + 20)
                try await ServiceGroup(configuration: group).run()
            } catch let error as StorageError {
                throw FailureExit(message: error.description)
            } catch let error as CryptographyError {
                throw FailureExit(message: error.description)
            } catch {
                // Bind failures and the like: name them in one line.
                throw FailureExit(message: "stopped: \(error)")
            }
        }
    }
}
