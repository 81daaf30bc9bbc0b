public import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Signed checkpoints of the tree, made and read back.
extension AuditLog {
    // MARK: Checkpoints

    /// Signs a checkpoint of the tree as it is now, unless the latest one already covers every
    /// leaf; returns the checkpoint for the current size either way.
    public func checkpoint(at time: Date = Date()) async throws -> SignedCheckpoint {
        let tree = self.tree
        let logger = self.logger
        let (origin, keyStore, suite) = (self.origin, self.keyStore, self.suite)
        return try await self.database.withTransaction("sign audit checkpoint") { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            let size = try await Self.size(on: connection, logger: logger)
            if let existing = try await Self.checkpoint(size: size, on: connection, logger: logger) { return existing }
            let frontier = try await Self.frontier(size: size, tree: tree, on: connection, logger: logger)
            var root = try frontier.last?.hash ?? tree.emptyRoot()
            for subtree in frontier.dropLast().reversed() { root = try tree.nodeHash(subtree.hash, root) }
            let checkpoint = Checkpoint(origin: origin, size: size, rootHash: root, hashAlgorithm: tree.hash.algorithm, time: time)
            let signed = try await SignedCheckpoint.sign(checkpoint, keyStore: keyStore, suite: suite)
            try await connection.run(
                """
                INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, note)
                VALUES (\(Int64(size)), \(ByteBuffer(bytes: root)), \(UTCTime(checkpoint.time).instant)::timestamptz, \(signed.note))
                """,
                logger: logger
            )
            return signed
        }
    }

    /// The latest signed checkpoint, if any was signed.
    public func latestCheckpoint() async throws -> SignedCheckpoint? {
        let logger = self.logger
        return try await self.database.withConnection("latest audit checkpoint") { connection in
            let rows = try await connection.query("SELECT note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1", logger: logger)
            for try await note in rows.decode(String.self) { return try SignedCheckpoint(note: note) }
            return nil
        }
    }

    /// The checkpoint signed for exactly `size` leaves, if one was.
    public func checkpoint(size: Int) async throws -> SignedCheckpoint? {
        let logger = self.logger
        return try await self.database.withConnection("audit checkpoint") { connection in
            try await Self.checkpoint(size: size, on: connection, logger: logger)
        }
    }

    static func checkpoint(size: Int, on connection: PostgresConnection, logger: Logger) async throws -> SignedCheckpoint? {
        let rows = try await connection.query("SELECT note FROM audit_checkpoints WHERE tree_size = \(Int64(size))", logger: logger)
        for try await note in rows.decode(String.self) { return try SignedCheckpoint(note: note) }
        return nil
    }
}
