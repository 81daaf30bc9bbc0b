import Dispatch
import Foundation
public import HubCrypto

/// Checks a downloaded segment of the audit log offline, against the hub's published keys only:
/// the checkpoint's signature, then that the segment's records, hashed as leaves and combined
/// with the range proof, give the checkpoint's root. Reading the records' contents is a separate
/// step (``Verified/records()``). Any changed, missing, added or reordered
/// record changes that root.
public struct AuditLogVerifier: Sendable {
    let keys: [String: any VerifyingKey]
    let registry: AlgorithmRegistry

    /// - Parameters:
    ///   - keys: The hub's published keys (``PublishedKeysDocument``), by key id.
    public init(keys: [String: any VerifyingKey], registry: AlgorithmRegistry = .standard()) {
        self.keys = keys
        self.registry = registry
    }

    /// What a verified segment established.
    public struct Verified: Sendable, Equatable {
        public var checkpoint: Checkpoint
        /// The leaf indexes verified.
        public var range: Range<Int>
        /// The verified leaves' bytes, in order.
        public var leaves: [[UInt8]]

        /// The records, parsed (a leaf of an unknown format is an error).
        public func records() throws(AuditVerificationError) -> [AuditRecord] {
            var records: [AuditRecord] = []
            records.reserveCapacity(self.leaves.count)
            for (offset, leaf) in self.leaves.enumerated() {
                do {
                    records.append(try AuditRecord(leafBytes: leaf))
                } catch {
                    throw AuditVerificationError("record \(self.range.lowerBound + offset): \(error)")
                }
            }
            return records
        }
    }

    public func verify(_ segment: AuditLogSegment) throws(AuditVerificationError) -> Verified {
        guard segment.format == AuditLogSegment.currentFormat else {
            throw AuditVerificationError("unknown segment format \(segment.format)")
        }
        let signed: SignedCheckpoint
        do {
            signed = try SignedCheckpoint(note: segment.checkpoint)
            try signed.verify(with: self.keys)
        } catch {
            throw AuditVerificationError("checkpoint: \(error)")
        }
        let checkpoint = signed.checkpoint
        let range = segment.start..<(segment.start + segment.records.count)
        guard !range.isEmpty else { throw AuditVerificationError("the segment has no records") }
        guard segment.start >= 0, range.upperBound <= checkpoint.size else {
            throw AuditVerificationError("records \(range.lowerBound)..<\(range.upperBound) lie outside the checkpoint's \(checkpoint.size)")
        }
        let tree: MerkleTree
        do {
            tree = MerkleTree(hash: try self.registry.hashFunction(for: checkpoint.hashAlgorithm))
        } catch {
            throw AuditVerificationError("the checkpoint's hash \(checkpoint.hashAlgorithm) is not available here")
        }
        var proof: [[UInt8]] = []
        for (position, hash) in segment.proof.enumerated() {
            guard let bytes = Data(base64Encoded: hash) else { throw AuditVerificationError("proof hash \(position) is not base64") }
            proof.append(Array(bytes))
        }
        let leaves = segment.records.map { Array($0.utf8) }
        let leafHashes = try Self.leafHashes(leaves, tree: tree)
        guard let root = tree.root(fromRange: range, leafHashes: leafHashes, size: checkpoint.size, proof: proof) else {
            throw AuditVerificationError("the range proof does not fit records \(range.lowerBound)..<\(range.upperBound) of \(checkpoint.size)")
        }
        guard root == checkpoint.rootHash else {
            throw AuditVerificationError("the records do not hash to the signed root of \(checkpoint.size) records: the log was altered")
        }
        return Verified(checkpoint: checkpoint, range: range, leaves: leaves)
    }
}

extension AuditLogVerifier {
    /// Leaf hashes, computed in parallel chunks (the bulk of the work).
    static func leafHashes(_ leaves: [[UInt8]], tree: MerkleTree) throws(AuditVerificationError) -> [[UInt8]] {
        let chunkSize = 8_192
        let chunks = (leaves.count + chunkSize - 1) / chunkSize
        let results = ChunkResults(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (chunk * chunkSize)..<min(leaves.count, (chunk + 1) * chunkSize)
            results.set(chunk, range.compactMap { try? tree.leafHash(leaves[$0]) })
        }
        let hashes = results.values.flatMap { $0 }
        guard hashes.count == leaves.count else { throw AuditVerificationError("the leaves could not be hashed") }
        return hashes
    }
}

/// Per-chunk results written by concurrent workers, each to its own slot.
private final class ChunkResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [[[UInt8]]]

    init(count: Int) { self.values = Array(repeating: [], count: count) }

    func set(_ index: Int, _ hashes: [[UInt8]]) {
        self.lock.withLock { self.values[index] = hashes }
    }
}

/// Why a segment, report or checkpoint did not verify.
public struct AuditVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
