import Foundation
public import HubCrypto
import HubFHIR
public import HubStorage
public import Logging
import NIOCore
public import PostgresNIO

/// The audit log in PostgreSQL: a durable queue of records, the append-only Merkle tree they are
/// integrated into, its stored subtree hashes, and the signed tree heads.
///
/// Integration (``integrate(limit:)``) and signing run under one advisory lock, so several hub
/// processes can share a database and the log still grows one leaf index at a time in queue
/// order.
public struct AuditLog: Sendable {
    let database: Database
    public let tree: MerkleTree
    /// The log's name in its checkpoints (and the signed-note key name).
    public let origin: String
    let keyStore: any KeyStore
    let suite: CryptoSuite
    let logger: Logger

    static let lockKey: Int64 = 0x4855_4241_5544_4954

    public init(database: Database, suite: CryptoSuite, keyStore: any KeyStore, origin: String, logger: Logger) {
        self.database = database
        self.tree = MerkleTree(hash: suite.hash)
        self.origin = origin
        self.keyStore = keyStore
        self.suite = suite
        self.logger = logger
    }

    // MARK: Queueing

    /// Queues records on `connection`, inside whatever transaction it is in: a write's records
    /// commit or roll back with the write.
    public static func enqueue(_ records: [AuditRecord], on connection: PostgresConnection, logger: Logger) async throws {
        guard !records.isEmpty else { return }
        var sql = SQLBuilder()
        let insertion = Self.queueInsertion(records, sql: &sql)
        try await connection.run(sql.reusable("WITH \(insertion)\nSELECT 1"), logger: logger)
    }

    /// A `WITH` member that queues `records`, for a write that is one statement (the record
    /// store's creates): the records are part of the very statement that writes the data.
    public static func queueInsertion(_ records: [AuditRecord], sql: inout SQLBuilder, name: String = "audit_queued") -> String {
        // Arrays bind without NULLs: "" stands for absent.
        let leaves = records.map { ByteBuffer(bytes: $0.leafBytes) }
        let times = records.map { UTCTime($0.time).instant }
        let actions = records.map(\.action.rawValue)
        let patients = records.map { $0.patient ?? "" }
        let clients = records.map { $0.caller.client ?? "" }
        let organizations = records.map { $0.caller.organization ?? "" }
        let users = records.map { $0.caller.user ?? "" }
        return """
            \(name) AS (INSERT INTO audit_queue (record, recorded_at, action, patient, client, organization, user_id)
            SELECT r, t, a, NULLIF(p, ''), NULLIF(c, ''), NULLIF(o, ''), NULLIF(u, '')
            FROM unnest(\(sql.bind(leaves))::bytea[], \(sql.bind(times))::timestamptz[], \(sql.bind(actions))::text[], \(sql.bind(patients))::text[], \(sql.bind(clients))::text[], \(sql.bind(organizations))::text[], \(sql.bind(users))::text[])
                AS n(r, t, a, p, c, o, u))
            """
    }

    /// Queues records in a transaction of their own (one statement): durable when this returns.
    public func enqueue(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let logger = self.logger
        try await self.database.withConnection("queue audit records") { connection in
            try await Self.enqueue(records, on: connection, logger: logger)
        }
    }

    // MARK: Integration

    /// Moves up to `limit` queued records into the tree, in queue order, with their leaf and
    /// subtree hashes; returns how many it moved (0 when the queue is empty).
    @discardableResult
    public func integrate(limit: Int = 5_000) async throws -> Int {
        let tree = self.tree
        let logger = self.logger
        return try await self.database.withTransaction("integrate audit records") { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            let start = try await Self.size(on: connection, logger: logger)
            var stack = try await Self.frontier(size: start, tree: tree, on: connection, logger: logger)
            // Read to the end before the next statement: a connection runs one at a time.
            let queued = try await connection.query(
                "SELECT seq, record FROM audit_queue ORDER BY seq LIMIT \(limit)",
                logger: logger
            ).collect()
            var sequence: [Int64] = []
            var leafHashes: [ByteBuffer] = []
            var levels: [Int] = []
            var indexes: [Int64] = []
            var hashes: [ByteBuffer] = []
            for row in queued {
                let (seq, record) = try row.decode((Int64, ByteBuffer).self)
                let leafHash = try tree.leafHash(Array(buffer: record))
                let index = start + sequence.count
                sequence.append(seq)
                leafHashes.append(ByteBuffer(bytes: leafHash))
                stack.append(Stacked(level: 0, index: index, hash: leafHash))
                // Two complete subtrees of the same size side by side make the next one up.
                while stack.count >= 2, stack[stack.count - 1].level == stack[stack.count - 2].level {
                    let right = stack.removeLast()
                    let left = stack.removeLast()
                    let node = Stacked(level: left.level + 1, index: left.index >> 1, hash: try tree.nodeHash(left.hash, right.hash))
                    levels.append(node.level)
                    indexes.append(Int64(node.index))
                    hashes.append(ByteBuffer(bytes: node.hash))
                    stack.append(node)
                }
            }
            guard !sequence.isEmpty else { return 0 }
            try await connection.run(
                """
                INSERT INTO audit_log (idx, record, leaf_hash, recorded_at, action, patient, client, organization, user_id)
                SELECT \(Int64(start)) + n.ord - 1, q.record, n.hash, q.recorded_at, q.action, q.patient, q.client, q.organization, q.user_id
                FROM unnest(\(sequence)::bigint[], \(leafHashes)::bytea[]) WITH ORDINALITY AS n(seq, hash, ord)
                JOIN audit_queue q ON q.seq = n.seq
                """,
                logger: logger
            )
            if !levels.isEmpty {
                try await connection.run(
                    "INSERT INTO audit_nodes (level, idx, hash) SELECT * FROM unnest(\(levels)::smallint[], \(indexes)::bigint[], \(hashes)::bytea[])",
                    logger: logger
                )
            }
            try await connection.run("DELETE FROM audit_queue WHERE seq = ANY(\(sequence)::bigint[])", logger: logger)
            return sequence.count
        }
    }

    /// A complete subtree on the integration stack.
    struct Stacked {
        var level: Int
        var index: Int
        var hash: [UInt8]
    }

    static func size(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT coalesce(max(idx) + 1, 0) FROM audit_log", logger: logger)
        for try await size in rows.decode(Int64.self) { return Int(size) }
        return 0
    }

    /// The complete subtrees that make up the tree of `size` leaves, largest first.
    static func frontier(size: Int, tree: MerkleTree, on connection: PostgresConnection, logger: Logger) async throws -> [Stacked] {
        let subtrees = MerkleTree.perfectSubtrees(of: 0..<size)
        let hashes = try await Self.hashes(of: subtrees, on: connection, logger: logger)
        return try subtrees.map { subtree in
            guard let hash = hashes[subtree] else { throw AuditLogError.missingNode(level: subtree.level, index: subtree.index) }
            return Stacked(level: subtree.level, index: subtree.index, hash: hash)
        }
    }

    /// Stored hashes of perfect subtrees: leaves from `audit_log`, larger ones from `audit_nodes`.
    static func hashes(of subtrees: [MerkleTree.PerfectSubtree], on connection: PostgresConnection, logger: Logger) async throws -> [MerkleTree
        .PerfectSubtree: [UInt8]]
    {
        guard !subtrees.isEmpty else { return [:] }
        let levels = subtrees.map(\.level)
        let indexes = subtrees.map { Int64($0.index) }
        let rows = try await connection.query(
            """
            SELECT 0::smallint, idx, leaf_hash FROM audit_log
            WHERE idx = ANY(SELECT i FROM unnest(\(levels)::smallint[], \(indexes)::bigint[]) AS w(l, i) WHERE l = 0)
            UNION ALL
            SELECT n.level, n.idx, n.hash FROM audit_nodes n
            JOIN unnest(\(levels)::smallint[], \(indexes)::bigint[]) AS w(l, i) ON n.level = w.l AND n.idx = w.i
            """,
            logger: logger
        )
        var found: [MerkleTree.PerfectSubtree: [UInt8]] = [:]
        for try await (level, index, hash) in rows.decode((Int16, Int64, ByteBuffer).self) {
            found[MerkleTree.PerfectSubtree(level: Int(level), index: Int(index))] = Array(buffer: hash)
        }
        return found
    }

}

/// The stored log is not what the proofs need.
public enum AuditLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stored subtree hash is missing: the log tables were altered.
    case missingNode(level: Int, index: Int)
    /// A proof or root was asked for a size the log has not reached.
    case beyondLog(size: Int)

    public var description: String {
        switch self {
        case .missingNode(let level, let index): "the audit log lacks the subtree hash at level \(level), index \(index)"
        case .beyondLog(let size): "the audit log has fewer than \(size) records"
        }
    }
}
