import ArgumentParser

/// The hub's benchmark tool (ops/bench/…). Release builds only: debug numbers mean nothing.
@main
struct HubBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-bench",
        abstract: "Measures the hub; ops/bench/* set the figures beside baselines measured in the same run.",
        subcommands: [
            CryptoBenchmark.self, LoadCommand.self, HTTPBenchmark.self, RequestFile.self, AuditBenchmark.self, OutageCommand.self,
            RecoveryCommand.self, NDJSONCommand.self,
        ]
    )
}
