public import HubCrypto

/// The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2; the same as RFC 6962's),
/// over any of the suite's hash functions: SM3 by default, SHA-256 in the international suite.
///
/// Leaves and interior nodes are hashed with distinct prefixes (`0x00`, `0x01`), so a leaf can
/// never pass for a node. The tree is defined for any number of leaves; its shape is fixed by
/// the count alone (the left subtree holds the largest power of two smaller than the count).
///
/// Proofs are computed from a ``SubtreeHashing`` source, so a log can answer them from stored
/// subtree hashes in logarithmic time instead of rehashing every leaf.
public struct MerkleTree: Sendable {
    public let hash: any HashFunction

    public init(hash: any HashFunction) {
        self.hash = hash
    }

    /// `HASH(0x00 || data)`.
    public func leafHash(_ data: [UInt8]) throws(CryptographyError) -> [UInt8] {
        try self.hash.digest([0x00] + data)
    }

    /// `HASH(0x01 || left || right)`.
    public func nodeHash(_ left: [UInt8], _ right: [UInt8]) throws(CryptographyError) -> [UInt8] {
        try self.hash.digest([0x01] + left + right)
    }

    /// The hash of the empty tree: `HASH()`.
    public func emptyRoot() throws(CryptographyError) -> [UInt8] {
        try self.hash.digest([])
    }

    /// MTH of the leaves with these leaf hashes (an in-memory source for small trees and tests).
    public func root(leafHashes: [[UInt8]]) throws -> [UInt8] {
        guard !leafHashes.isEmpty else { return try self.emptyRoot() }
        return try InMemorySubtrees(tree: self, leafHashes: leafHashes).hash(of: 0..<leafHashes.count)
    }

    /// The largest power of two smaller than `n` (n > 1): where MTH splits.
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    // MARK: Proofs (RFC 9162 §2.1.3.1 and §2.1.4.1)

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves: PATH(m, D[n]).
    public func inclusionProof(index: Int, size: Int, in source: some SubtreeHashing) throws -> [[UInt8]] {
        guard index >= 0, index < size else { throw MerkleTreeError.indexOutOfRange(index: index, size: size) }
        return try self.path(index, 0..<size, source)
    }

    private func path(_ m: Int, _ range: Range<Int>, _ source: some SubtreeHashing) throws -> [[UInt8]] {
        let n = range.count
        guard n > 1 else { return [] }
        let k = Self.split(n)
        let left = range.lowerBound..<(range.lowerBound + k)
        let right = (range.lowerBound + k)..<range.upperBound
        if m < k {
            return try self.path(m, left, source) + [try source.hash(of: right)]
        }
        return try self.path(m - k, right, source) + [try source.hash(of: left)]
    }

    /// The consistency proof between the trees of the first `oldSize` and `newSize` leaves:
    /// PROOF(m, D[n]).
    public func consistencyProof(oldSize: Int, newSize: Int, in source: some SubtreeHashing) throws -> [[UInt8]] {
        guard oldSize >= 0, oldSize <= newSize else { throw MerkleTreeError.sizesOutOfOrder(old: oldSize, new: newSize) }
        guard oldSize > 0, oldSize < newSize else { return [] }
        return try self.subproof(oldSize, 0..<newSize, true, source)
    }

    private func subproof(_ m: Int, _ range: Range<Int>, _ whole: Bool, _ source: some SubtreeHashing) throws -> [[UInt8]] {
        let n = range.count
        if m == n {
            return whole ? [] : [try source.hash(of: range)]
        }
        let k = Self.split(n)
        let left = range.lowerBound..<(range.lowerBound + k)
        let right = (range.lowerBound + k)..<range.upperBound
        if m <= k {
            return try self.subproof(m, left, whole, source) + [try source.hash(of: right)]
        }
        return try self.subproof(m - k, right, false, source) + [try source.hash(of: left)]
    }

    // MARK: Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

    /// Whether `proof` shows the leaf with `leafHash` at `index` in the tree of `size` leaves
    /// whose root is `root`.
    public func verifyInclusion(leafHash: [UInt8], index: Int, size: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                guard let hashed = try? self.nodeHash(p, r) else { return false }
                r = hashed
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                guard let hashed = try? self.nodeHash(r, p) else { return false }
                r = hashed
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows that the tree of `oldSize` leaves with `oldRoot` is a prefix of the
    /// tree of `newSize` leaves with `newRoot`.
    public func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof[...]
        // If the old tree is a complete subtree (a power of two), its root starts the path.
        if oldSize & (oldSize - 1) == 0 { path = [oldRoot] + path }
        guard let first = path.first else { return false }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = first
        var sr = first
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                guard let f = try? self.nodeHash(c, fr), let s = try? self.nodeHash(c, sr) else { return false }
                fr = f
                sr = s
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                guard let s = try? self.nodeHash(sr, c) else { return false }
                sr = s
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == oldRoot && sr == newRoot
    }
}

/// Where proofs get the hash of a range of leaves (MTH of D[start:end]).
public protocol SubtreeHashing {
    func hash(of range: Range<Int>) throws -> [UInt8]
}

/// Subtree hashes computed from all leaf hashes in memory: for tests, verifiers and small logs.
public struct InMemorySubtrees: SubtreeHashing, Sendable {
    let tree: MerkleTree
    let leafHashes: [[UInt8]]

    public init(tree: MerkleTree, leafHashes: [[UInt8]]) {
        self.tree = tree
        self.leafHashes = leafHashes
    }

    public func hash(of range: Range<Int>) throws -> [UInt8] {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= self.leafHashes.count else {
            throw MerkleTreeError.rangeOutsideLeaves(start: range.lowerBound, end: range.upperBound, count: self.leafHashes.count)
        }
        if range.count == 1 { return self.leafHashes[range.lowerBound] }
        let k = MerkleTree.split(range.count)
        let middle = range.lowerBound + k
        return try self.tree.nodeHash(try self.hash(of: range.lowerBound..<middle), try self.hash(of: middle..<range.upperBound))
    }
}

/// A proof asked for outside the tree.
public enum MerkleTreeError: Error, Sendable, Equatable {
    case indexOutOfRange(index: Int, size: Int)
    case sizesOutOfOrder(old: Int, new: Int)
    case rangeOutsideLeaves(start: Int, end: Int, count: Int)
}
