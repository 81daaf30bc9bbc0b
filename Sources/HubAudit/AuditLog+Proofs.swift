import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// The stored tree read back: its size, roots, proofs (from stored subtree hashes) and leaves.
extension AuditLog {
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
}
