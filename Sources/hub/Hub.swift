import ArgumentParser
import Foundation
import HubConfig
import HubServer
import HubStorage
import Logging
import Metrics
import Prometheus

@main
struct Hub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The health-records hub: HTTPS FHIR service and its administration.",
        version: HubVersion.current,
        subcommands: [Serve.self, Migrate.self, Keys.self, Records.self, Admin.self, ConfigCommand.self, Version.self]
    )
}

/// `--config FILE`, shared by every command that reads the configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $HUB_CONFIG; HUB_… variables override it).")
    var config: String?

    /// Loads and validates the configuration, or exits with one line naming the bad setting.
    func load(checkFiles: Bool = true) throws -> HubConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = self.config ?? environment[HubConfiguration.fileEnvironmentVariable]
        do {
            return try HubConfiguration.load(file: file, environment: environment, checkFiles: checkFiles)
        } catch {
            throw FailureExit(message: error.description, code: .configuration)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the hub's version and the FHIR release it implements.")

    func run() {
        print("hub \(HubVersion.current) (FHIR \(HubVersion.fhirVersion))")
    }
}
