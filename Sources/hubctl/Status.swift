import ArgumentParser
import Foundation
import HubClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the hub answers over verified HTTPS and is ready.",
        discussion: "Exit 0 when healthy and ready, 1 otherwise."
    )

    @OptionGroup var server: ServerOptions

    @Flag(name: .long, help: "Print the result as JSON: {server, healthy, ready, checks, error}.")
    var json = false

    /// The `--json` shape (stable: fields are only ever added).
    struct Report: Encodable {
        var server: String
        var healthy: Bool
        var ready: Bool
        var checks: [ReadinessReport.Check]
        var error: String?
    }

    func run() async throws {
        let client: HubClient
        do {
            client = try self.server.makeClient()
        } catch let failure as CLIFailure {
            throw failure.exit()
        }
        var report = Report(server: client.configuration.serverURL, healthy: false, ready: false, checks: [])
        do {
            let health = try await client.send("GET", "/healthz")
            report.healthy = health.status == 200
            let ready = try await client.send("GET", "/readyz")
            report.ready = ready.status == 200
            report.checks = (try? JSONDecoder().decode(ReadinessReport.self, from: Data(ready.body)))?.checks ?? []
        } catch {
            report.error = error.description
        }
        try? await client.shutdown()

        if self.json {
            try Output.json(report)
        } else if let error = report.error {
            throw CLIFailure(message: "\(report.server): \(error)").exit()
        } else {
            print("\(report.server): \(report.healthy ? "healthy" : "unhealthy"), \(report.ready ? "ready" : "not ready")")
            for check in report.checks where !check.ok {
                print("  \(check.name): \(check.detail)")
            }
        }
        if !(report.healthy && report.ready) { throw ExitCode(1) }
    }
}
