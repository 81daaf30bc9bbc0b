import HubAudit
import HubCrypto
import Testing

@Suite struct RangeProofTests {
    static func leaves(_ count: Int) -> [[UInt8]] {
        (0..<count).map { Array("record \($0)".utf8) }
    }

    @Test(arguments: ["SHA-256", "SM3"])
    func everyRangeOfEveryTreeUpTo20LeavesGivesTheRoot(hashName: String) throws {
        let tree = MerkleTree(hash: hashName == "SM3" ? try SM3() : SHA256Hash())
        for size in 1...20 {
            let hashes = try Self.leaves(size).map { try tree.leafHash($0) }
            let source = InMemorySubtrees(tree: tree, leafHashes: hashes)
            let root = try tree.root(leafHashes: hashes)
            for start in 0..<size {
                for end in (start + 1)...size {
                    let range = start..<end
                    let proof = try tree.rangeProof(range, size: size, in: source)
                    #expect(proof.count <= 2 * (Int.bitWidth - size.leadingZeroBitCount))
                    let part = Array(hashes[range])
                    #expect(tree.root(fromRange: range, leafHashes: part, size: size, proof: proof) == root)
                    // A changed record, a dropped or extra proof step, or a shifted range fails.
                    var changed = part
                    changed[0] = try tree.leafHash(Array("forged".utf8))
                    #expect(tree.root(fromRange: range, leafHashes: changed, size: size, proof: proof) != root)
                    if !proof.isEmpty {
                        #expect(tree.root(fromRange: range, leafHashes: part, size: size, proof: Array(proof.dropLast())) == nil)
                    }
                    #expect(tree.root(fromRange: range, leafHashes: part, size: size, proof: proof + [root]) == nil)
                    if end < size {
                        let shifted = (start + 1)..<(end + 1)
                        #expect(tree.root(fromRange: shifted, leafHashes: part, size: size, proof: proof) != root)
                    }
                }
            }
        }
    }

    @Test func storedPerfectSubtreesAnswerLikeTheLeaves() throws {
        let tree = MerkleTree(hash: SHA256Hash())
        let size = 45
        let hashes = try Self.leaves(size).map { try tree.leafHash($0) }
        let memory = InMemorySubtrees(tree: tree, leafHashes: hashes)
        // Every perfect subtree, as a log stores them.
        var perfect: [MerkleTree.PerfectSubtree: [UInt8]] = [:]
        var level = 0
        while 1 << level <= size {
            for index in 0..<(size >> level) {
                let subtree = MerkleTree.PerfectSubtree(level: level, index: index)
                perfect[subtree] = try memory.hash(of: subtree.leaves)
            }
            level += 1
        }
        let stored = StoredSubtrees(tree: tree, perfect: perfect)
        for end in 1...size {
            #expect(try stored.hash(of: 0..<end) == memory.hash(of: 0..<end))
            for index in stride(from: 0, to: end, by: 7) {
                #expect(try tree.inclusionProof(index: index, size: end, in: stored) == tree.inclusionProof(index: index, size: end, in: memory))
            }
        }
    }
}
