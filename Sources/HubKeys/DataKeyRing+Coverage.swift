public import HubCrypto
public import HubStorage
public import Logging
import PostgresNIO

extension DataKeyRing {
    /// The key-encryption keys the database's live data keys are sealed under, missing from
    /// `keyStore`: after a restore with the wrong key directory (or none), every record sealed
    /// under them is unreadable — better refused at start than failed at every read.
    public static func keyEncryptionKeysMissing(
        from keyStore: any KeyStore,
        in database: Database,
        logger: Logger
    ) async throws -> [String] {
        let named = try await database.withConnection("list key-encryption keys in use") { connection in
            var named: [String] = []
            // One row per key-encryption key, from the index on kek_id.
            let rows = try await connection.query(
                "SELECT DISTINCT kek_id FROM data_keys WHERE wrapped IS NOT NULL AND kek_id IS NOT NULL", logger: logger)
            for try await id in rows.decode(String.self) { named.append(id) }
            return named
        }
        let held = Set(try await keyStore.inventory().map(\.id.value))
        return named.filter { !held.contains($0) }.sorted()
    }
}
