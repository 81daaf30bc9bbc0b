import Foundation
import HubAudit
import HubCrypto
import HubTestSupport
import Testing

@Suite struct MerkleTreeTests {
    static let sha256 = MerkleTree(hash: SHA256Hash())
    static func sm3() throws -> MerkleTree { MerkleTree(hash: try SM3()) }

    /// The leaves of Certificate Transparency's reference tests (RFC 6962 trees of 1…8 leaves).
    static let referenceLeaves: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .map(Self.bytes)

    static func bytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test func rootsMatchTheCertificateTransparencyReference() throws {
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        let tree = Self.sha256
        let hashes = try Self.referenceLeaves.map { try tree.leafHash($0) }
        for size in 1...8 {
            #expect((try tree.root(leafHashes: Array(hashes.prefix(size)))).hex == expected[size - 1], "size \(size)")
        }
        #expect((try tree.root(leafHashes: [])).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// Every proof of every tree up to 33 leaves verifies, and every change to it is refused.
    @Test(arguments: [false, true])
    func proofsVerifyAndTamperingFails(useSM3: Bool) throws {
        let tree = useSM3 ? try Self.sm3() : Self.sha256
        let leaves = try (0..<33).map { try tree.leafHash(Array("audit record \($0)".utf8)) }
        var roots: [[UInt8]] = [try tree.root(leafHashes: [])]
        for size in 1...leaves.count { roots.append(try tree.root(leafHashes: Array(leaves.prefix(size)))) }
        for size in 1...leaves.count {
            let source = InMemorySubtrees(tree: tree, leafHashes: Array(leaves.prefix(size)))
            for index in 0..<size {
                let proof = try tree.inclusionProof(index: index, size: size, in: source)
                #expect(tree.verifyInclusion(leafHash: leaves[index], index: index, size: size, proof: proof, root: roots[size]))
                // Another leaf, another position, a changed or missing step: refused.
                #expect(!tree.verifyInclusion(leafHash: leaves[(index + 1) % 33], index: index, size: size, proof: proof, root: roots[size]))
                if size > 1 {
                    #expect(!tree.verifyInclusion(leafHash: leaves[index], index: (index + 1) % size, size: size, proof: proof, root: roots[size]))
                }
                // (The size is not bound by the proof alone — a leaf's path can be the same in
                // a tree one larger — but by the signed tree head that pairs it with the root.)
                if let first = proof.first {
                    var changed = proof
                    changed[0] = first.map { $0 ^ 1 }
                    #expect(!tree.verifyInclusion(leafHash: leaves[index], index: index, size: size, proof: changed, root: roots[size]))
                    #expect(
                        !tree.verifyInclusion(leafHash: leaves[index], index: index, size: size, proof: Array(proof.dropLast()), root: roots[size]))
                }
            }
            for old in 1...size {
                let proof = try tree.consistencyProof(oldSize: old, newSize: size, in: source)
                #expect(
                    tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size], proof: proof), "\(old) → \(size)")
                if old < size {
                    // A forked history (another old root) or a changed step: refused.
                    #expect(!tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old - 1], newRoot: roots[size], proof: proof))
                    #expect(!tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size - 1], proof: proof))
                    var changed = proof
                    changed[changed.count - 1] = changed[changed.count - 1].map { $0 ^ 0x80 }
                    #expect(!tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size], proof: changed))
                    #expect(!tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size], proof: []))
                }
            }
        }
        #expect(throws: MerkleTreeError.self) { try tree.inclusionProof(index: 5, size: 5, in: InMemorySubtrees(tree: tree, leafHashes: leaves)) }
        #expect(throws: MerkleTreeError.self) {
            try tree.consistencyProof(oldSize: 6, newSize: 5, in: InMemorySubtrees(tree: tree, leafHashes: leaves))
        }
    }

    /// The same roots and proofs as an independent implementation written from the RFC's
    /// definitions (Python: hashlib's SHA-256, gmssl's SM3).
    @Test(arguments: ["sha256", "sm3"])
    func agreesWithAnIndependentImplementation(algorithm: String) async throws {
        let tree = algorithm == "sm3" ? try Self.sm3() : Self.sha256
        let leaves = (0..<21).map { Array("leaf-\($0)-审计".utf8) } + Self.referenceLeaves
        let output = try await TestPeer.run("merkle_peer.py", [algorithm] + leaves.map { $0.isEmpty ? "-" : $0.hex })
        #expect(output.status == 0, "\(output.standardError)")
        let peer = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: [Any]])
        let hashes = try leaves.map { try tree.leafHash($0) }
        let source = InMemorySubtrees(tree: tree, leafHashes: hashes)
        let roots = try #require(peer["roots"] as? [String])
        for size in 0...leaves.count {
            #expect((try tree.root(leafHashes: Array(hashes.prefix(size)))).hex == roots[size], "root of \(size)")
        }
        let inclusion = try #require(peer["inclusion"] as? [[String]])
        for index in leaves.indices {
            #expect(try tree.inclusionProof(index: index, size: leaves.count, in: source).map(\.hex) == inclusion[index])
        }
        let consistency = try #require(peer["consistency"] as? [[String]])
        for old in 1...leaves.count {
            #expect(try tree.consistencyProof(oldSize: old, newSize: leaves.count, in: source).map(\.hex) == consistency[old - 1])
        }
    }
}
