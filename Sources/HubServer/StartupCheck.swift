import HubCrypto
import HubKeys
import HubResources
import HubStorage
import Logging

/// What `hub serve` does with the schema before it accepts requests.
///
/// - With `migrate_on_start`, pending migrations are applied; failure stops the hub.
/// - Otherwise the schema is only checked: an applied migration whose file changed, or one no
///   file describes, stops the hub (it would otherwise run against a schema it does not know);
///   pending migrations or an unreachable database are logged and left to `/readyz`, so a hub
///   started before its database comes up waits instead of crashing.
struct StartupCheck: Sendable {
    let migrator: Migrator
    let database: Database
    let keyStore: any KeyStore
    let suite: CryptoSuite
    let logger: Logger
    let migrateOnStart: Bool
    let generateKeys: Bool

    func run() async throws {
        try await self.checkKeys()
        if try await self.checkSchema() {
            try await self.checkKeysCoverRecords()
        }
    }

    /// The suite's keys must exist before anything is encrypted or signed with them.
    private func checkKeys() async throws {
        if self.generateKeys {
            let created = try await self.keyStore.generateMissingKeys(for: self.suite)
            for key in created {
                self.logger.notice(
                    "created key", metadata: ["id": "\(key.id)", "purpose": "\(key.purpose.rawValue)", "algorithm": "\(key.algorithm)"])
            }
        }
        _ = try await self.keyStore.currentKeyEncryptionKeyID(for: self.suite)
        guard
            try await self.keyStore.verifyingKeys().contains(where: {
                $0.description.state == .current && $0.description.algorithm == self.suite.signature.algorithm.name
            })
        else {
            throw CryptographyError(.unknownKey, "no current \(self.suite.signature.algorithm) signing key: run `hub keys generate`")
        }
    }

    /// Returns whether the schema is current (false when the database cannot be reached yet).
    private func checkSchema() async throws -> Bool {
        if self.migrateOnStart {
            let applied = try await self.migrator.migrate()
            self.logger.notice("schema is current", metadata: ["applied_now": "\(applied.count)"])
            return true
        }
        guard let status = try await self.statusIfReachable() else { return false }
        if let problem = status.problems.first {
            throw problem
        }
        if !status.pending.isEmpty {
            self.logger.warning(
                "schema has pending migrations; run `hub migrate` (/readyz reports not ready)",
                metadata: ["pending": "\(status.pending.count)"]
            )
            return false
        }
        try await self.checkRecordsFormat()
        return true
    }

    /// A restored database started with the wrong key directory, or a new one, would fail
    /// every read: refused here, saying what to restore.
    private func checkKeysCoverRecords() async throws {
        // Before the first request: the start may wait longer than a request's deadline.
        let missing = try await DataKeyRing.keyEncryptionKeysMissing(
            from: self.keyStore, in: self.database, timeout: .seconds(30), logger: self.logger)
        guard missing.isEmpty else {
            throw StartupCheckError(
                message:
                    "the database's records are sealed under key-encryption keys this key directory does not hold (\(missing.joined(separator: ", "))): start the hub with the key directory backed up with this database (ops/restore keys)"
            )
        }
    }

    /// Records derived under an older format would be served with index rows nobody finds and
    /// uniqueness unchecked: the hub does not start until `hub records reprocess` has run.
    private func checkRecordsFormat() async throws {
        let stored = try await PostgresResourceStore.storedRecordsFormat(self.database)
        guard stored >= PostgresResourceStore.recordsFormat else {
            throw StartupCheckError(
                message:
                    "stored records were indexed under format \(stored), this hub uses \(PostgresResourceStore.recordsFormat): run `hub records reprocess` before serving"
            )
        }
    }

    /// The migration status, or nil (logged) when the database cannot be reached.
    private func statusIfReachable() async throws(StorageError) -> MigrationStatus? {
        do {
            return try await self.migrator.status()
        } catch {
            guard error.isTransient else { throw error }
            self.logger.warning("database unreachable at start; /readyz will report it", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// Why the hub does not start, with what to do.
struct StartupCheckError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
