import ArgumentParser
import Foundation
import HubClient
import HubConfig

@main
struct HubCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubctl",
        abstract: "Look things up in the health-records hub, and check on it.",
        discussion: """
            Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 denied.
            The server certificate is always verified: pass the hub's CA with --ca (or HUBCTL_CA)
            when it is not signed by a CA in the system trust store.
            """,
        version: HubVersion.current,
        subcommands: [Status.self, Login.self, Logout.self, BreakGlass.self, Audit.self, Version.self]
    )
}

/// Where the hub is and how to trust it; shared by every command that calls the hub.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Hub URL (default: $HUBCTL_SERVER or https://127.0.0.1:8443).")
    var server: String?

    @Option(name: .long, help: "PEM file of the CA that signed the hub's certificate (default: $HUBCTL_CA).")
    var ca: String?

    @Option(name: .long, help: "PEM client certificate, for hubs that require mutual TLS (default: $HUBCTL_CERT).")
    var cert: String?

    @Option(name: .long, help: "PEM key of the client certificate (default: $HUBCTL_KEY).")
    var key: String?

    @Option(name: .customLong("token-file"), help: "Where `hubctl login` keeps the bearer token (default: $HUBCTL_TOKEN_FILE or ~/.config/hubctl/token).")
    var tokenFile: String?

    var serverURL: String {
        self.server ?? ProcessInfo.processInfo.environment["HUBCTL_SERVER"] ?? "https://127.0.0.1:8443"
    }

    /// The token file in use.
    var tokenPath: String {
        let environment = ProcessInfo.processInfo.environment
        return self.tokenFile ?? environment["HUBCTL_TOKEN_FILE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/hubctl/token").path
    }

    func makeClient(sendingToken: Bool = true) throws -> HubClient {
        let environment = ProcessInfo.processInfo.environment
        var configuration = HubClient.Configuration(
            serverURL: self.serverURL,
            caCertificate: self.ca ?? environment["HUBCTL_CA"],
            clientCertificate: self.cert ?? environment["HUBCTL_CERT"],
            clientKey: self.key ?? environment["HUBCTL_KEY"]
        )
        if sendingToken { configuration.bearerToken = try TokenFile(path: self.tokenPath).read() }
        do {
            return try HubClient(configuration: configuration)
        } catch {
            throw CLIFailure(message: error.description)
        }
    }
}

/// A failure printed as one line on standard error, with the documented exit code.
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = 1

    func exit() -> ExitCode {
        FileHandle.standardError.write(Data("hubctl: \(self.message)\n".utf8))
        return ExitCode(self.exitCode)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print hubctl's version.")

    func run() {
        print("hubctl \(HubVersion.current) (FHIR \(HubVersion.fhirVersion))")
    }
}
