import Foundation
public import HubConfig

/// What `ops/test` provides to the tests, through `HUB_TEST_*` variables.
///
/// Tests that need PostgreSQL or certificates fail (they do not skip) when run outside
/// `ops/test`: a test suite that silently skips its database tests proves nothing.
public enum TestEnvironment {
    public struct MissingSetup: Error, CustomStringConvertible {
        public var variable: String
        public var description: String { "\(self.variable) is not set: run the tests with ops/test" }
    }

    static func require(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw MissingSetup(variable: variable)
        }
        return value
    }

    /// The test cluster's maintenance database; tests create their own databases from it.
    public static func adminDatabaseURL() throws -> DatabaseURL {
        try DatabaseURL(parsing: try require("HUB_TEST_DATABASE_URL"))
    }

    /// The PKI whose CA the hub trusts.
    public static func pki() throws -> TestPKI {
        TestPKI(directory: try require("HUB_TEST_PKI"))
    }

    /// A second PKI the hub does not trust (its client certificate must be refused).
    public static func foreignPKI() throws -> TestPKI {
        TestPKI(directory: try require("HUB_TEST_FOREIGN_PKI"))
    }

    /// The project's `migrations/` folder.
    public static func migrationsDirectory() throws -> String {
        try require("HUB_TEST_MIGRATIONS")
    }

    /// Where tests leave files for people to look at (`HUB_TEST_ARTIFACTS`, set by ops/test).
    public static func artifactsDirectory() throws -> String {
        let directory = try require("HUB_TEST_ARTIFACTS")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The checkout's root folder (the parent of `migrations/`).
    public static func repositoryRoot() throws -> String {
        URL(fileURLWithPath: try migrationsDirectory()).deletingLastPathComponent().path
    }

    /// Where the built `hub` and `hubctl` executables are.
    public static func binDirectory() throws -> String {
        try require("HUB_TEST_BIN")
    }
}

/// Paths of one PKI made by `ops/dev-certs`.
public struct TestPKI: Sendable {
    public let directory: String
    /// Whose client certificate this presents: `client` (the test hospital's system),
    /// `other-client` (another hospital's) or `regulator`.
    public var identity = "client"
    public var caCertificate: String { self.directory + "/ca.crt" }
    public var serverCertificate: String { self.directory + "/server.crt" }
    public var serverKey: String { self.directory + "/server.key" }
    public var clientCertificate: String { self.directory + "/\(self.identity).crt" }
    public var clientKey: String { self.directory + "/\(self.identity).key" }

    public init(directory: String, identity: String = "client") {
        self.directory = directory
        self.identity = identity
    }

    /// The same PKI presenting another of its client certificates.
    public func presenting(_ identity: String) -> TestPKI {
        TestPKI(directory: self.directory, identity: identity)
    }

    /// The other hospital's system.
    public var otherHospital: TestPKI { self.presenting("other-client") }
    /// A third hospital's system.
    public var thirdHospital: TestPKI { self.presenting("third-client") }
    /// The health commission's regulator.
    public var regulator: TestPKI { self.presenting("regulator") }
}
