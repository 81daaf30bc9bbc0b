import ArgumentParser
import HubConfig

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check or describe the configuration.",
        subcommands: [Check.self, Show.self, Settings.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the configuration; exit 78 naming the first bad setting.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await self.reportingFailures {
                _ = try self.options.load()
                print("configuration ok")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the effective settings (secrets redacted).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await self.reportingFailures {
                let configuration = try self.options.load(checkFiles: false)
                for (name, value) in configuration.describedSettings {
                    print("\(name) = \(value)")
                }
            }
        }
    }

    struct Settings: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every setting with its environment variable.")

        func run() {
            for setting in HubConfiguration.settings {
                print("\(setting.name)  (\(setting.environmentName))\n    \(setting.summary)")
            }
        }
    }
}
