import Foundation
import HubConfig
import Testing

@Suite struct HubConfigurationTests {
    /// A complete file whose paths all exist (checked files are read from a temporary folder).
    static func writeFile(_ body: String) throws -> (path: String, folder: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hubconfig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/migrations", withIntermediateDirectories: true)
        for name in ["server.crt", "server.key", "ca.crt"] {
            _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data("x".utf8))
        }
        let path = folder + "/hub.toml"
        try body.replacingOccurrences(of: "$DIR", with: folder).write(toFile: path, atomically: true, encoding: .utf8)
        return (path, folder)
    }

    static let complete = """
        [tls]
        certificate_chain = "$DIR/server.crt"
        private_key = "$DIR/server.key"
        client_ca = "$DIR/ca.crt"
        client_auth = "required"

        [database]
        url = "postgres://hub:secret@db.example:6432/records?sslmode=verify-full&sslrootcert=$DIR/ca.crt"
        migrations_directory = "$DIR/migrations"
        """

    @Test func loadsFileWithDefaultsForWhatItOmits() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        let configuration = try HubConfiguration.load(file: path, environment: [:])
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8443)
        #expect(configuration.tls.clientAuthentication == .required)
        #expect(configuration.tls.minimumVersion == .v1_2)
        #expect(configuration.database.url?.endpoint == .tcp(host: "db.example", port: 6432))
        #expect(configuration.database.url?.database == "records")
        #expect(configuration.database.maxConnections == 4)
    }

    @Test func environmentOverridesTheFile() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        let configuration = try HubConfiguration.load(
            file: path,
            environment: [
                "HUB_SERVER_PORT": "9443",
                "HUB_TLS_CLIENT_AUTH": "optional",
                "HUB_DATABASE_MIGRATE_ON_START": "yes",
                "HUB_CONFIG": path,  // not a setting: ignored
                "HUB_TEST_SOMETHING": "x",  // no such section: ignored
            ]
        )
        #expect(configuration.server.port == 9443)
        #expect(configuration.tls.clientAuthentication == .optional)
        #expect(configuration.database.migrateOnStart)
    }

    @Test(arguments: [
        (["HUB_SERVER_PORT": "eighty"], "server.port", "expected a whole number"),
        (["HUB_SERVER_PORT": "70000"], "server.port", "70000 is out of range 0...65535"),
        (["HUB_TLS_CLIENT_AUTH": "sometimes"], "tls.client_auth", "must be one of: off, optional, required"),
        (["HUB_SERVER_PROT": "1"], "HUB_SERVER_PROT", "unknown setting"),
        (["HUB_DATABASE_URL": "mysql://x"], "database.url", "expected postgres://user@host:port/database"),
        (["HUB_LOG_LEVEL": "loud"], "log.level", "must be one of: trace, debug, info, notice, warning, error, critical"),
    ])
    func badValuesNameTheSetting(environment: [String: String], setting: String, message: String) throws {
        let (path, _) = try Self.writeFile(Self.complete)
        #expect {
            _ = try HubConfiguration.load(file: path, environment: environment)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.setting == setting && error.message == message
        }
    }

    @Test func unknownSettingInFileIsRefusedWithItsLine() throws {
        let (path, _) = try Self.writeFile(Self.complete + "\n[server]\nhots = \"x\"\n")
        let error = #expect(throws: ConfigurationError.self) {
            _ = try HubConfiguration.load(file: path, environment: [:])
        }
        #expect(error?.setting == "server.hots")
        #expect(error?.origin == "\(path):11")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func missingRequiredSettingsAreNamed() throws {
        let (path, folder) = try Self.writeFile("[database]\nurl = \"postgres://u@h/d\"\nmigrations_directory = \"$DIR/migrations\"")
        _ = folder
        let error = #expect(throws: ConfigurationError.self) {
            _ = try HubConfiguration.load(file: path, environment: [:])
        }
        #expect(error?.setting == "tls.certificate_chain")

        let noCA = #expect(throws: ConfigurationError.self) {
            _ = try HubConfiguration.load(
                file: path,
                environment: ["HUB_TLS_CERTIFICATE_CHAIN": "a", "HUB_TLS_PRIVATE_KEY": "b", "HUB_TLS_CLIENT_AUTH": "required"]
            )
        }
        #expect(noCA?.setting == "tls.client_ca")
    }

    /// Issue #14: a database across the network is verified, or the hub does not start.
    @Test func aDatabaseAcrossTheNetworkMustBeVerified() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        for mode in ["disable", "prefer", "require"] {
            let error = #expect(throws: ConfigurationError.self, "\(mode)") {
                _ = try HubConfiguration.load(file: path, environment: ["HUB_DATABASE_URL": "postgres://hub@db.example/records?sslmode=\(mode)"])
            }
            #expect(error?.setting == "database.url")
            #expect(error?.message.contains("verify-full") == true)
            // The operator may accept it, knowingly.
            _ = try HubConfiguration.load(
                file: path,
                environment: ["HUB_DATABASE_URL": "postgres://hub@db.example/records?sslmode=\(mode)", "HUB_DATABASE_ALLOW_UNVERIFIED_TLS": "true"]
            )
        }
        // On this machine nobody sits in between: loopback and unix sockets need no certificate.
        for local in [
            "postgres://hub@127.0.0.1/records?sslmode=disable", "postgres://hub@localhost/records",
            "postgres://hub@[::1]:5432/records?sslmode=require", "postgres://hub@/records?host=/run/postgresql",
        ] {
            _ = try HubConfiguration.load(file: path, environment: ["HUB_DATABASE_URL": local])
        }
    }

    /// Issue #14: listening on every address, the hub cannot tell its own URL (the token
    /// audience, the base of absolute references): the operator must say it.
    @Test func listeningOnEveryAddressNeedsThePublicURL() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        for host in ["0.0.0.0", "::", "[::]"] {
            let error = #expect(throws: ConfigurationError.self, "\(host)") {
                _ = try HubConfiguration.load(file: path, environment: ["HUB_SERVER_HOST": host])
            }
            #expect(error?.setting == "server.public_url")
            let configured = try HubConfiguration.load(
                file: path, environment: ["HUB_SERVER_HOST": host, "HUB_SERVER_PUBLIC_URL": "https://hub.example"])
            #expect(configured.server.baseURL == "https://hub.example")
        }
    }

    @Test func unreadableFilesAreNamed() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        let error = #expect(throws: ConfigurationError.self) {
            _ = try HubConfiguration.load(file: path, environment: ["HUB_TLS_PRIVATE_KEY": "/nonexistent/key.pem"])
        }
        #expect(error?.setting == "tls.private_key")
        #expect(error?.message == "cannot read file /nonexistent/key.pem")
    }

    @Test func describedSettingsRedactThePassword() throws {
        let (path, _) = try Self.writeFile(Self.complete)
        let configuration = try HubConfiguration.load(file: path, environment: [:])
        let url = configuration.describedSettings.first { $0.name == "database.url" }?.value
        #expect(url == "postgres://hub:***@db.example:6432/records?sslmode=verify-full")
        #expect(!configuration.describedSettings.contains { $0.value.contains("secret") })
    }

    @Test func everySettingHasADistinctEnvironmentName() {
        let names = HubConfiguration.settings.map(\.environmentName)
        #expect(Set(names).count == names.count)
        #expect(names.contains("HUB_DATABASE_MAX_CONNECTIONS"))
    }
}
