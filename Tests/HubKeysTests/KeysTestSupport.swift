import Foundation
import HubConfig
import HubCrypto
import HubKeys
import HubStorage
import HubTestSupport
import Logging

/// A migrated fresh database, a key folder with keys for both suites, and a ring per suite.
struct KeysFixture: Sendable {
    let url: DatabaseURL
    let database: Database
    let keyStore: FileKeyStore
    let keyDirectory: String
    let registry = AlgorithmRegistry.standard()
    let logger = makeTestLogger("test.keys")

    static func with<Result: Sendable>(_ body: @escaping @Sendable (KeysFixture) async throws -> Result) async throws -> Result {
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

    func ring(_ suite: CryptoSuite, cacheLifetime: Duration = .seconds(300)) -> DataKeyRing {
        DataKeyRing(
            database: self.database,
            keyStore: self.keyStore,
            suite: suite,
            registry: self.registry,
            logger: self.logger,
            cacheLifetime: cacheLifetime
        )
    }

    func count(_ sql: String) async throws -> Int {
        Int(try await TestDatabase.strings(self.url, "SELECT (\(sql))::text").first ?? "") ?? -1
    }
}
