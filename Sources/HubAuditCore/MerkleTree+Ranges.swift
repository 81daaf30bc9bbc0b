import HubCrypto

extension MerkleTree {
    // MARK: Range proofs

    /// The hashes a verifier needs, besides the leaves `range` itself, to compute the root of
    /// the tree of `size` leaves: the largest subtrees entirely outside `range`, in the order of
    /// a left-to-right walk of the tree.
    ///
    /// A log download (a contiguous segment of records) is checked against a signed tree head
    /// with one proof of at most 2·log₂(size) hashes, instead of one inclusion proof per record.
    /// The hub's own construction; `docs/audit.md` specifies it.
    public func rangeProof(_ range: Range<Int>, size: Int, in source: some SubtreeHashing) throws -> [[UInt8]] {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= size else {
            throw MerkleTreeError.rangeOutsideLeaves(start: range.lowerBound, end: range.upperBound, count: size)
        }
        var proof: [[UInt8]] = []
        try Self.walk(0..<size, around: range) { outside in proof.append(try source.hash(of: outside)) }
        return proof
    }

    /// The root of the tree of `size` leaves, from the hashes of the leaves in `range` and a
    /// ``rangeProof(_:size:in:)``; nil when the proof does not fit the range and size.
    public func root(fromRange range: Range<Int>, leafHashes: [[UInt8]], size: Int, proof: [[UInt8]]) -> [UInt8]? {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= size, leafHashes.count == range.count else { return nil }
        var remaining = proof[...]
        func hash(_ node: Range<Int>) -> [UInt8]? {
            if node.upperBound <= range.lowerBound || node.lowerBound >= range.upperBound {
                return remaining.popFirst()
            }
            if node.count == 1 { return leafHashes[node.lowerBound - range.lowerBound] }
            let middle = node.lowerBound + Self.split(node.count)
            guard let left = hash(node.lowerBound..<middle), let right = hash(middle..<node.upperBound) else { return nil }
            return try? self.nodeHash(left, right)
        }
        guard let root = hash(0..<size), remaining.isEmpty else { return nil }
        return root
    }

    /// Visits, left to right, the maximal subtrees of `node` that lie outside `range`.
    private static func walk(_ node: Range<Int>, around range: Range<Int>, _ visit: (Range<Int>) throws -> Void) throws {
        if node.upperBound <= range.lowerBound || node.lowerBound >= range.upperBound {
            try visit(node)
            return
        }
        guard node.count > 1 else { return }
        let middle = node.lowerBound + Self.split(node.count)
        try Self.walk(node.lowerBound..<middle, around: range, visit)
        try Self.walk(middle..<node.upperBound, around: range, visit)
    }

    // MARK: Perfect subtrees

    /// A complete subtree of 2^level leaves starting at leaf `index << level`: what a log stores
    /// so that any proof is a handful of look-ups.
    public struct PerfectSubtree: Hashable, Sendable {
        public var level: Int
        public var index: Int

        public init(level: Int, index: Int) {
            self.level = level
            self.index = index
        }

        public var leaves: Range<Int> { (self.index << self.level)..<((self.index + 1) << self.level) }
    }

    /// The perfect subtrees, largest first, whose concatenation is `range`. Every range a proof
    /// asks for (a node of the RFC 9162 tree, or the whole tree) starts at a multiple of its
    /// largest power of two, so this is its binary decomposition, and MTH(range) folds these
    /// hashes from the right: `node(p₁, node(p₂, … pₙ))`.
    public static func perfectSubtrees(of range: Range<Int>) -> [PerfectSubtree] {
        var subtrees: [PerfectSubtree] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var level = 0
            while start % (1 << (level + 1)) == 0, start + (1 << (level + 1)) <= range.upperBound { level += 1 }
            subtrees.append(PerfectSubtree(level: level, index: start >> level))
            start += 1 << level
        }
        return subtrees
    }
}

/// A source that answers with placeholders and remembers what was asked: which subtrees a
/// proof needs, so that a stored log can fetch them all in one query.
package final class RecordingSubtrees: SubtreeHashing {
    package private(set) var ranges: [Range<Int>] = []
    let placeholder: [UInt8]

    package init(placeholder: [UInt8]) { self.placeholder = placeholder }

    package func hash(of range: Range<Int>) throws -> [UInt8] {
        self.ranges.append(range)
        return self.placeholder
    }
}

/// Subtree hashes from stored perfect subtrees, fetched ahead of a proof.
public struct StoredSubtrees: SubtreeHashing, Sendable {
    let tree: MerkleTree
    let perfect: [MerkleTree.PerfectSubtree: [UInt8]]

    public init(tree: MerkleTree, perfect: [MerkleTree.PerfectSubtree: [UInt8]]) {
        self.tree = tree
        self.perfect = perfect
    }

    public func hash(of range: Range<Int>) throws -> [UInt8] {
        let parts = try MerkleTree.perfectSubtrees(of: range).map { subtree in
            guard let hash = self.perfect[subtree] else {
                throw MerkleTreeError.rangeOutsideLeaves(start: subtree.leaves.lowerBound, end: subtree.leaves.upperBound, count: 0)
            }
            return hash
        }
        guard var folded = parts.last else {
            throw MerkleTreeError.rangeOutsideLeaves(start: range.lowerBound, end: range.upperBound, count: 0)
        }
        for part in parts.dropLast().reversed() {
            folded = try self.tree.nodeHash(part, folded)
        }
        return folded
    }
}
