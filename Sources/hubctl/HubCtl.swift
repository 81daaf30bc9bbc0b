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
            Log in once per profile (hubctl login --server … --ca … --principal … --signing-key …); later
            commands use the profile (--profile, default 'default'). Every read command takes --json.
            Shell completions: hubctl --generate-completion-script bash|zsh|fish.
            The server certificate is always verified: pass the hub's CA with --ca (or HUBCTL_CA)
            when it is not signed by a CA in the system trust store.
            """,
        version: HubVersion.current,
        subcommands: [
            Status.self, Login.self, Logout.self, Whoami.self, PatientCommand.self, History.self, Labs.self, Appointments.self,
            Referrals.self, BreakGlass.self, Audit.self, OpenData.self, Version.self,
        ]
    )

    /// As ArgumentParser's, but a usage error exits 2 (the documented code), not EX_USAGE.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Where the hub is, how to trust it and who is calling; shared by every command that calls the
/// hub. Each setting comes from its option, else its `HUBCTL_…` variable, else the profile
/// `hubctl login` saved.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Hub URL (default: $HUBCTL_SERVER, the profile's, or https://127.0.0.1:8443).")
    var server: String?

    @Option(name: .long, help: "PEM file of the CA that signed the hub's certificate (default: $HUBCTL_CA or the profile's).")
    var ca: String?

    @Option(name: .long, help: "PEM client certificate, for hubs that require mutual TLS (default: $HUBCTL_CERT or the profile's).")
    var cert: String?

    @Option(name: .long, help: "PEM key of the client certificate (default: $HUBCTL_KEY or the profile's).")
    var key: String?

    @Option(name: .long, help: "Which saved login to use (default: $HUBCTL_PROFILE or 'default').")
    var profile: String?

    @Option(name: .customLong("config-dir"), help: "Where profiles are kept (default: $HUBCTL_CONFIG_DIR or ~/.config/hubctl).")
    var configDirectory: String?

    @Option(name: .long, help: "Seconds one call to the hub may take, connection included (default: $HUBCTL_TIMEOUT_SECONDS or 10).")
    var timeout: Int?

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    var profileName: String { self.profile ?? Self.environment["HUBCTL_PROFILE"] ?? "default" }

    var configFolder: String {
        self.configDirectory ?? Self.environment["HUBCTL_CONFIG_DIR"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/hubctl").path
    }

    func savedProfile() throws -> Profile {
        try Profile.load(self.profileName, in: self.configFolder)
    }

    /// The settings in force: options over variables over the saved profile.
    func resolved() throws -> Profile {
        let saved = try self.savedProfile()
        let environment = Self.environment
        return Profile(
            server: self.server ?? environment["HUBCTL_SERVER"] ?? saved.server ?? "https://127.0.0.1:8443",
            ca: self.ca ?? environment["HUBCTL_CA"] ?? saved.ca,
            cert: self.cert ?? environment["HUBCTL_CERT"] ?? saved.cert,
            key: self.key ?? environment["HUBCTL_KEY"] ?? saved.key,
            principal: saved.principal,
            token: saved.token,
            expiresAt: saved.expiresAt
        )
    }

    var serverURL: String {
        (try? self.resolved().server) ?? nil ?? "https://127.0.0.1:8443"
    }

    func makeClient(sendingToken: Bool = true) throws -> HubClient {
        let settings = try self.resolved()
        var configuration = HubClient.Configuration(
            serverURL: settings.server ?? "https://127.0.0.1:8443",
            caCertificate: settings.ca,
            clientCertificate: settings.cert,
            clientKey: settings.key
        )
        if sendingToken { configuration.bearerToken = settings.token }
        let seconds = self.timeout ?? Self.environment["HUBCTL_TIMEOUT_SECONDS"].flatMap { Int($0) } ?? 10
        guard (1...3_600).contains(seconds) else { throw CLIFailure(message: "--timeout is 1–3600 seconds") }
        configuration.timeout = .seconds(seconds)
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
