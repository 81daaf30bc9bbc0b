import Foundation
public import HubAudit
public import HubConfig
public import HubCrypto
public import HubKeys
public import HubStorage
public import Logging

/// A migrated fresh database, a key folder with keys for both suites, and a ring per suite.
public struct KeysFixture: Sendable {
    public let url: DatabaseURL
    public let database: Database
    public let keyStore: FileKeyStore
    public let keyDirectory: String
    public let registry = AlgorithmRegistry.standard()
    public let logger = makeTestLogger("test.keys")

    public static func with<Result: Sendable>(_ body: @escaping @Sendable (KeysFixture) async throws -> Result) async throws -> Result {
        try await TestDatabase.withFresh { url in
            let database = try TestDatabase.database(url)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
            let keyStore = try FileKeyStore(directory: directory, registry: AlgorithmRegistry.standard())
            _ = try await keyStore.generateMissingKeys(for: try CryptoSuite.sm())
            _ = try await keyStore.generateMissingKeys(for: CryptoSuite.international())
            let fixture = KeysFixture(url: url, database: database, keyStore: keyStore, keyDirectory: directory)
            return try await database.whileRunning {
                let migrator = Migrator(
                    migrations: try MigrationSet(directory: try TestEnvironment.migrationsDirectory()),
                    database: database,
                    logger: fixture.logger
                )
                try await migrator.migrate()
                return try await body(fixture)
            }
        }
    }

    public func ring(_ suite: CryptoSuite, cacheLifetime: Duration = .seconds(300)) -> DataKeyRing {
        DataKeyRing(
            database: self.database,
            keyStore: self.keyStore,
            suite: suite,
            registry: self.registry,
            logger: self.logger,
            cacheLifetime: cacheLifetime
        )
    }

    /// The integer a `SELECT count(*) …` (or any one-value query) returns.
    public func count(_ sql: String) async throws -> Int {
        Int(try await TestDatabase.strings(self.url, "SELECT (\(sql))::text").first ?? "") ?? -1
    }
}

extension KeysFixture {
    /// The audit log over this fixture's database, signed with its keys.
    public func auditLog(_ suite: CryptoSuite, origin: String = "hub.test/audit") -> AuditLog {
        AuditLog(database: self.database, suite: suite, keyStore: self.keyStore, origin: origin, logger: self.logger)
    }

    /// The fixture's published keys, as a verifier downloads them.
    public func publishedKeys(_ suite: CryptoSuite) async throws -> [String: any VerifyingKey] {
        try PublishedKeysDocument(suite: suite.name, keys: try await self.keyStore.verifyingKeys()).verifyingKeys(registry: self.registry)
    }
}

extension AuditContext {
    /// What tests write as.
    public static let test = AuditContext(caller: Caller(client: "test-client", organization: "test-org"), interaction: "test")
}
