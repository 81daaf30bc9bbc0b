public import HubCrypto
public import HubStorage
public import Logging
import PostgresNIO

extension DataKeyRing {
    /// The key-encryption keys the database's live data keys are sealed under, missing from
    /// `keyStore`: after a restore with the wrong key directory (or none), every record sealed
    /// under them is unreadable — better refused at start than failed at every read.
    ///
    /// - Parameter timeout: Overrides the database deadline: a hub starting on a busy host waits
    ///   longer than one request would.
    public static func keyEncryptionKeysMissing(
        from keyStore: any KeyStore,
        in database: Database,
        timeout: Duration? = nil,
        logger: Logger
    ) async throws -> [String] {
        let named = try await database.withConnection("list key-encryption keys in use", timeout: timeout) { connection in
            var named: [String] = []
            // One probe of the index on kek_id per key-encryption key (a loose index scan), not a
            // scan of a data key per patient: the hub waits for this before it serves.
            let rows = try await connection.query(
                """
                WITH RECURSIVE k(id) AS (
                  SELECT min(kek_id) FROM data_keys WHERE wrapped IS NOT NULL
                  UNION ALL
                  SELECT (SELECT min(d.kek_id) FROM data_keys d WHERE d.wrapped IS NOT NULL AND d.kek_id > k.id)
                  FROM k WHERE k.id IS NOT NULL
                )
                SELECT id FROM k WHERE id IS NOT NULL
                """, logger: logger)
            for try await id in rows.decode(String.self) { named.append(id) }
            return named
        }
        let held = Set(try await keyStore.inventory().map(\.id.value))
        return named.filter { !held.contains($0) }.sorted()
    }
}
