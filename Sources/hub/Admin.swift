import ArgumentParser
import Foundation
import HubAccess
import HubAudit
import HubConfig
import HubCrypto
import HubStorage
import Logging

/// `hub admin …`: organizations and principals, straight in the database — for the first
/// administrator and for scripts on the hub's own machine. The admin API (`/admin`) does the
/// same for administrators over HTTPS. Every change is audited, as the operator `console`.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organizations, clients and users (audited).",
        subcommands: [AddOrganization.self, ListOrganizations.self, AddPrincipal.self, ListPrincipals.self, SetPrincipal.self, IssueToken.self]
    )

    /// Who `hub admin` changes are recorded as.
    static let console = AuditContext(caller: Caller(user: "console", address: "local", purposeOfUse: "HSYSADMIN"), interaction: "admin")

    struct AddOrganization: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-organization", abstract: "Register an organization.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Its id (what FHIR references name: Organization/<id>).") var id: String
        @Option(help: "Its name.") var name: String
        @Option(help: "hospital, laboratory, commission or other.") var kind: String = "hospital"
        @Flag(help: "Succeed without change if it exists.") var ifMissing = false

        func run() async throws {
            try await Admin.directory(self.options) { directory in
                guard let kind = Organization.Kind(rawValue: self.kind) else {
                    throw AccessError(.invalid, "--kind is hospital, laboratory, commission or other")
                }
                do {
                    _ = try await directory.add(Organization(id: self.id, name: self.name, kind: kind), audit: Admin.console)
                    print("added organization \(self.id)")
                } catch let error as AccessError where error.code == .conflict && self.ifMissing {
                    print("organization \(self.id) exists")
                }
            }
        }
    }

    struct ListOrganizations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "organizations", abstract: "List organizations.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await Admin.directory(self.options) { directory in
                for organization in try await directory.organizations() {
                    print("\(organization.id)\t\(organization.kind.rawValue)\t\(organization.active ? "active" : "inactive")\t\(organization.name)")
                }
            }
        }
    }

    struct AddPrincipal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-principal",
            abstract: "Register a client (role system) or a user (clinician, regulator, administrator)."
        )
        @OptionGroup var options: ConfigOption
        @Argument(help: "Its id.") var id: String
        @Option(help: "system, clinician, regulator or administrator.") var role: String
        @Option(help: "The organization it belongs to.") var organization: String
        @Option(help: "Its name.") var name: String
        @Option(name: .customLong("scope"), help: "A SMART scope it may hold (repeat), e.g. system/*.read.") var scopes: [String] = []
        @Option(help: "PEM client certificate it authenticates with (mutual TLS).") var certificate: String?
        @Option(name: .customLong("public-key"), help: "PEM public key (P-256 or SM2) of its signed JWT assertions.") var publicKey: String?
        @Flag(help: "Succeed without change if it exists.") var ifMissing = false

        func run() async throws {
            try await Admin.directory(self.options) { directory in
                guard let role = Role(rawValue: self.role) else {
                    throw AccessError(.invalid, "--role is system, clinician, regulator or administrator")
                }
                let principal = Principal(
                    id: self.id, role: role, organization: self.organization, name: self.name, scopes: self.scopes,
                    certificateSHA256: try self.certificate.map(Admin.fingerprint),
                    publicKey: try self.publicKey.map { try String(contentsOfFile: $0, encoding: .utf8) }
                )
                do {
                    _ = try await directory.add(principal, audit: Admin.console)
                    print("added \(role.rawValue) \(self.id)")
                } catch let error as AccessError where error.code == .conflict && self.ifMissing {
                    print("\(self.id) exists")
                }
            }
        }
    }

    struct ListPrincipals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "principals", abstract: "List clients and users.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only this organization's.") var organization: String?

        func run() async throws {
            try await Admin.directory(self.options) { directory in
                for principal in try await directory.principals(organization: self.organization) {
                    let credentials = [principal.certificateSHA256.map { "cert:\($0.prefix(16))" }, principal.publicKey.map { _ in "key" }]
                        .compactMap { $0 }.joined(separator: ",")
                    print(
                        "\(principal.id)\t\(principal.role.rawValue)\t\(principal.organization)\t\(principal.active ? "active" : "inactive")\t"
                            + "\(principal.scopes.joined(separator: " "))\t\(credentials)"
                    )
                }
            }
        }
    }

    struct SetPrincipal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-principal",
            abstract: "Change a principal: deactivate it, its scopes, its certificate or key (its tokens are revoked)."
        )
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        @Option(help: "true or false.") var active: Bool?
        @Option(name: .customLong("scope"), help: "Replace its scopes (repeat).") var scopes: [String] = []
        @Option(help: "PEM client certificate to bind instead.") var certificate: String?
        @Option(name: .customLong("public-key"), help: "PEM public key to use instead.") var publicKey: String?

        func run() async throws {
            try await Admin.directory(self.options) { directory in
                let change = IdentityDirectory.PrincipalChange(
                    active: self.active,
                    scopes: self.scopes.isEmpty ? nil : self.scopes,
                    certificateSHA256: try self.certificate.map(Admin.fingerprint),
                    publicKey: try self.publicKey.map { try String(contentsOfFile: $0, encoding: .utf8) }
                )
                _ = try await directory.update(principal: self.id, change, audit: Admin.console)
                print("changed \(self.id)")
            }
        }
    }

    struct IssueToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-token",
            abstract: "Issue a bearer token to a principal and print it (for a first administrator, or users without keys)."
        )
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        @Option(name: .customLong("scope"), help: "Only these of its scopes (repeat).") var scopes: [String] = []

        func run() async throws {
            let configuration = try self.options.load(checkFiles: false)
            try await Admin.directory(self.options) { directory in
                let tokens = AccessTokens(
                    database: directory.database, lifetime: .seconds(60 * configuration.access.tokenLifetimeMinutes),
                    emergencyLifetime: .seconds(60 * configuration.access.breakGlassMinutes), grants: directory.grants,
                    logger: Logger(label: "hub.admin")
                )
                let principal = try await directory.principal(id: self.id)
                let issued = try await tokens.issue(to: principal, scopes: self.scopes.isEmpty ? nil : self.scopes, audit: Admin.console)
                print(issued.accessToken)
            }
        }
    }

    /// Runs `body` with the directory of the configured database, failures as one line.
    static func directory(_ options: ConfigOption, _ body: @escaping @Sendable (IdentityDirectory) async throws -> Void) async throws {
        do {
            let runtime = try Runtime(configuration: try options.load(checkFiles: false))
            // A command keeps no grants; the serving hubs hear its changes (AccessChangeFeed).
            let directory = IdentityDirectory(database: runtime.database, registry: runtime.registry, grants: GrantCache(), logger: runtime.logger)
            try await runtime.databaseOperation {
                try await runtime.database.whileRunning { try await body(directory) }
            }
        } catch let failure as FailureExit {
            FileHandle.standardError.write(Data("hub: \(failure.message)\n".utf8))
            throw ExitCode(failure.code.rawValue)
        } catch let error as AccessError {
            FileHandle.standardError.write(Data("hub: \(error.message)\n".utf8))
            throw ExitCode(error.code == .notFound ? 3 : 1)
        }
    }

    /// SHA-256 of a PEM certificate's DER, lowercase hex.
    static func fingerprint(_ path: String) throws -> String {
        try Principal.fingerprint(certificatePEM: try String(contentsOfFile: path, encoding: .utf8))
    }
}
