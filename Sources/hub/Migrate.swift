import ArgumentParser
import HubConfig
import HubStorage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations (safe to run from several hubs at once)."
    )

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Only report applied and pending migrations; change nothing.")
    var status = false

    func run() async throws {
        try await self.reportingFailures {
            // Migrating needs only the database settings; TLS files need not exist yet.
            let configuration = try self.options.load(checkFiles: false)
            let runtime = try Runtime(configuration: configuration)
            let migrator = runtime.migrator
            let showStatus = self.status
            do {
                try await runtime.database.whileRunning {
                    if showStatus {
                        let status = try await migrator.status()
                        for applied in status.applied {
                            print("applied  \(applied.version) \(applied.name)")
                        }
                        for pending in status.pending {
                            print("pending  \(pending.label)")
                        }
                        for problem in status.problems {
                            print("PROBLEM  \(problem.message)")
                        }
                        if !status.problems.isEmpty { throw status.problems[0] }
                    } else {
                        let applied = try await migrator.migrate()
                        for migration in applied {
                            print("applied \(migration.label)")
                        }
                        print(applied.isEmpty ? "schema already current" : "schema current (\(applied.count) applied)")
                    }
                }
            } catch let error as StorageError {
                throw FailureExit(message: error.description)
            }
        }
    }
}
