public import HubCrypto
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Rotates the key-encryption key: a new KEK becomes current in the key store, then every data
/// key wrapped under an older KEK is unwrapped and wrapped again, in batches, online.
///
/// Records are never touched (their data keys do not change), so rotation costs one unwrap and
/// one wrap per subject. Each batch commits with its progress in `crypto_jobs`; rerunning after a
/// crash continues with the keys still under an old KEK. Old KEKs keep unwrapping throughout;
/// once none is in use (``keysUnderOldKEKs()`` is 0) they can be destroyed.
public struct DataKeyRewrap: Sendable {
    let ring: DataKeyRing
    let batchSize: Int

    public init(ring: DataKeyRing, batchSize: Int = 200) {
        self.ring = ring
        self.batchSize = batchSize
    }

    /// Makes a new KEK current and re-wraps all data keys of the ring's cipher under it.
    public func rotate(progress: @Sendable (Int) -> Void = { _ in }) async throws -> (kek: KeyDescription, rewrapped: Int) {
        let kek = try await self.ring.keyStore.rotateKeyEncryptionKey(for: self.ring.suite)
        let count = try await self.rewrapRemaining(progress: progress)
        return (kek, count)
    }

    /// Re-wraps the data keys not under the current KEK; returns how many it re-wrapped.
    ///
    /// - Parameter maximumBatches: Stop after this many batches (tests use it to interrupt a run).
    public func rewrapRemaining(
        maximumBatches: Int = .max,
        progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> Int {
        let current = try await self.ring.keyStore.currentKeyEncryptionKeyID(for: self.ring.suite).value
        let algorithm = self.ring.suite.cipher.algorithm.name
        let name = "rewrap:\(algorithm)"
        let logger = self.ring.logger
        try await self.ring.database.withConnection("start rewrap") { connection in
            _ = try await CryptoJobProgress.resume(name: name, kind: "rewrap", target: current, on: connection, logger: logger)
        }
        var total = 0
        var batches = 0
        while batches < maximumBatches {
            let ring = self.ring
            let limit = self.batchSize
            let count = try await ring.database.withTransaction("rewrap batch") { connection in
                let rows = try await connection.query(
                    """
                    SELECT key_id, subject, wrapped FROM data_keys
                    WHERE wrapped IS NOT NULL AND algorithm = \(algorithm) AND kek_id <> \(current)
                    ORDER BY key_id LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                    """,
                    logger: logger
                )
                var pending: [(String, String, [UInt8])] = []
                for try await (id, subject, wrapped) in rows.decode((String, String, ByteBuffer).self) {
                    pending.append((id, subject, Array(buffer: wrapped)))
                }
                for (id, subject, wrapped) in pending {
                    let key = try await ring.unwrap(id: id, subject: subject, wrapped: wrapped)
                    let rewrapped = try await ring.keyStore.wrap(
                        key,
                        suite: ring.suite,
                        context: DataKeyRing.wrappingContext(keyID: id, subject: subject)
                    )
                    let bytes = ByteBuffer(bytes: rewrapped.serialized)
                    let kekID = rewrapped.header.keyID.value
                    try await connection.run(
                        "UPDATE data_keys SET wrapped = \(bytes), kek_id = \(kekID) WHERE key_id = \(id)",
                        logger: logger
                    )
                }
                try await CryptoJobProgress.advance(
                    name: name,
                    cursor: pending.last?.0,
                    by: pending.count,
                    done: pending.count < limit,
                    on: connection,
                    logger: logger
                )
                return pending.count
            }
            total += count
            batches += 1
            progress(total)
            if count < self.batchSize { break }
        }
        return total
    }

    /// Data keys of the ring's cipher still wrapped under a KEK that is not current.
    public func keysUnderOldKEKs() async throws -> Int {
        let current = try await self.ring.keyStore.currentKeyEncryptionKeyID(for: self.ring.suite).value
        let algorithm = self.ring.suite.cipher.algorithm.name
        let logger = self.ring.logger
        return try await self.ring.database.withConnection("count old wraps") { connection in
            let rows = try await connection.query(
                """
                SELECT count(*)::bigint FROM data_keys
                WHERE wrapped IS NOT NULL AND algorithm = \(algorithm) AND kek_id <> \(current)
                """,
                logger: logger
            )
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }
}
