import HubFHIR
public import Foundation
public import HubCrypto
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
        try await connection.run(sql.query("WITH \(insertion)\nSELECT 1"), logger: logger)
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
    static func hashes(of subtrees: [MerkleTree.PerfectSubtree], on connection: PostgresConnection, logger: Logger) async throws -> [MerkleTree.PerfectSubtree: [UInt8]] {
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

    // MARK: Reading the tree

    /// The number of leaves integrated so far.
    public func size() async throws -> Int {
        let logger = self.logger
        return try await self.database.withConnection("audit log size") { connection in
            try await Self.size(on: connection, logger: logger)
        }
    }

    /// The root hash of the tree of the first `size` leaves.
    public func root(size: Int) async throws -> [UInt8] {
        guard size > 0 else { return try self.tree.emptyRoot() }
        return try await self.withStoredSubtrees(of: [0..<size], size: size) { source in try source.hash(of: 0..<size) }
    }

    /// Runs `proof` against stored subtrees, fetching every subtree it needs in one query.
    func withStoredSubtrees<Result: Sendable>(
        of ranges: [Range<Int>],
        size: Int,
        _ proof: @escaping @Sendable (StoredSubtrees) throws -> Result
    ) async throws -> Result {
        let subtrees = Array(Set(ranges.flatMap { MerkleTree.perfectSubtrees(of: $0) }))
        let tree = self.tree
        let logger = self.logger
        return try await self.database.withConnection("audit proof") { connection in
            guard try await Self.size(on: connection, logger: logger) >= size else { throw AuditLogError.beyondLog(size: size) }
            let hashes = try await Self.hashes(of: subtrees, on: connection, logger: logger)
            return try proof(StoredSubtrees(tree: tree, perfect: hashes))
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    public func inclusionProof(index: Int, size: Int) async throws -> [[UInt8]] {
        let tree = self.tree
        return try await self.proof(size: size) { try tree.inclusionProof(index: index, size: size, in: $0) }
    }

    /// The consistency proof between the trees of `oldSize` and `newSize` leaves.
    public func consistencyProof(oldSize: Int, newSize: Int) async throws -> [[UInt8]] {
        let tree = self.tree
        return try await self.proof(size: newSize) { try tree.consistencyProof(oldSize: oldSize, newSize: newSize, in: $0) }
    }

    /// The range proof for leaves `range` in the tree of `size` leaves.
    public func rangeProof(_ range: Range<Int>, size: Int) async throws -> [[UInt8]] {
        let tree = self.tree
        return try await self.proof(size: size) { try tree.rangeProof(range, size: size, in: $0) }
    }

    /// Computes a proof twice: first against placeholders, to learn which subtrees it needs;
    /// then against those subtrees, fetched in one query.
    func proof(size: Int, _ compute: @escaping @Sendable (any SubtreeHashing) throws -> [[UInt8]]) async throws -> [[UInt8]] {
        let recorder = RecordingSubtrees(placeholder: [UInt8](repeating: 0, count: self.tree.hash.digestByteCount))
        _ = try compute(recorder)
        return try await self.withStoredSubtrees(of: recorder.ranges, size: size) { try compute($0) }
    }

    /// The leaf bytes of the records at `range`, in order.
    public func records(_ range: Range<Int>) async throws -> [[UInt8]] {
        guard !range.isEmpty else { return [] }
        let logger = self.logger
        return try await self.database.withConnection("audit records") { connection in
            let rows = try await connection.query(
                "SELECT record FROM audit_log WHERE idx >= \(Int64(range.lowerBound)) AND idx < \(Int64(range.upperBound)) ORDER BY idx",
                logger: logger
            )
            var records: [[UInt8]] = []
            records.reserveCapacity(range.count)
            for try await record in rows.decode(ByteBuffer.self) { records.append(Array(buffer: record)) }
            return records
        }
    }

    // MARK: Searching

    /// Integrated records, newest first, filtered by patient, organization, client and time;
    /// one page after leaf `before` (exclusive). Queued records appear once integrated.
    public func search(
        patient: String? = nil,
        organization: String? = nil,
        client: String? = nil,
        from: Date? = nil,
        to: Date? = nil,
        count: Int,
        before: Int? = nil
    ) async throws -> [(index: Int, leaf: [UInt8])] {
        let logger = self.logger
        return try await self.database.withConnection("audit search") { connection in
            var sql = SQLBuilder()
            var conditions: [String] = []
            if let patient { conditions.append("patient = \(sql.bind(patient))") }
            if let organization { conditions.append("organization = \(sql.bind(organization))") }
            if let client { conditions.append("client = \(sql.bind(client))") }
            if let from { conditions.append("recorded_at >= \(sql.bind(UTCTime(from).instant))::timestamptz") }
            if let to { conditions.append("recorded_at < \(sql.bind(UTCTime(to).instant))::timestamptz") }
            if let before { conditions.append("idx < \(sql.bind(Int64(before)))") }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let limit = sql.bind(count)
            let rows = try await connection.query(
                sql.query("SELECT idx, record FROM audit_log \(filter) ORDER BY idx DESC LIMIT \(limit)"),
                logger: logger
            )
            var found: [(index: Int, leaf: [UInt8])] = []
            for try await (index, record) in rows.decode((Int64, ByteBuffer).self) {
                found.append((Int(index), Array(buffer: record)))
            }
            return found
        }
    }

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

extension AuditLog {
    /// The indexes below `size` of the records timed in `from..<to`, as one range from the first
    /// to the last (records in between are included whatever their time); nil if there are none.
    public func indexRange(from: Date, to: Date, below size: Int) async throws -> Range<Int>? {
        let logger = self.logger
        return try await self.database.withConnection("audit index range") { connection in
            let rows = try await connection.query(
                """
                SELECT min(idx), max(idx) FROM audit_log
                WHERE recorded_at >= \(UTCTime(from).instant)::timestamptz AND recorded_at < \(UTCTime(to).instant)::timestamptz AND idx < \(Int64(size))
                """,
                logger: logger
            )
            for try await (low, high) in rows.decode((Int64?, Int64?).self) {
                guard let low, let high else { return nil }
                return Int(low)..<Int(high + 1)
            }
            return nil
        }
    }
}

extension AuditLog {
    /// The index of the next record the live feed `name` is to send (0 for a new feed).
    public func feedPosition(_ name: String) async throws -> Int {
        let logger = self.logger
        return try await self.database.withConnection("audit feed position") { connection in
            let rows = try await connection.query("SELECT next_index FROM audit_feeds WHERE name = \(name)", logger: logger)
            for try await next in rows.decode(Int64.self) { return Int(next) }
            return 0
        }
    }

    /// Records that feed `name` sent everything before `next`.
    public func advanceFeed(_ name: String, to next: Int) async throws {
        let logger = self.logger
        try await self.database.withConnection("advance audit feed") { connection in
            try await connection.run(
                """
                INSERT INTO audit_feeds (name, next_index) VALUES (\(name), \(Int64(next)))
                ON CONFLICT (name) DO UPDATE SET next_index = GREATEST(audit_feeds.next_index, EXCLUDED.next_index)
                """,
                logger: logger
            )
        }
    }
}
