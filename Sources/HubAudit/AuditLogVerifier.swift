import Dispatch
import Foundation
public import HubCrypto

/// Checks a downloaded segment of the audit log offline, against the hub's published keys only:
/// the checkpoint's signature, then that the segment's records, hashed as leaves and combined
/// with the range proof, give the checkpoint's root. Any changed, missing, added or reordered
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
        /// The records, parsed.
        public var records: [AuditRecord]
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
        let (leafHashes, records) = try Self.hashAndParse(segment.records, start: segment.start, tree: tree)
        guard let root = tree.root(fromRange: range, leafHashes: leafHashes, size: checkpoint.size, proof: proof) else {
            throw AuditVerificationError("the range proof does not fit records \(range.lowerBound)..<\(range.upperBound) of \(checkpoint.size)")
        }
        guard root == checkpoint.rootHash else {
            throw AuditVerificationError("the records do not hash to the signed root of \(checkpoint.size) records: the log was altered")
        }
        return Verified(checkpoint: checkpoint, range: range, records: records)
    }
}

extension AuditLogVerifier {
    /// Leaf hashes and parsed records, computed in parallel chunks (the bulk of the work).
    static func hashAndParse(_ texts: [String], start: Int, tree: MerkleTree) throws(AuditVerificationError) -> ([[UInt8]], [AuditRecord]) {
        let chunkSize = 4_096
        let chunks = (texts.count + chunkSize - 1) / chunkSize
        let results = ChunkResults(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (chunk * chunkSize)..<min(texts.count, (chunk + 1) * chunkSize)
            var hashes: [[UInt8]] = []
            var records: [AuditRecord] = []
            hashes.reserveCapacity(range.count)
            records.reserveCapacity(range.count)
            for offset in range {
                let bytes = Array(texts[offset].utf8)
                do {
                    hashes.append(try tree.leafHash(bytes))
                    records.append(try AuditRecord(leafBytes: bytes))
                } catch {
                    results.set(chunk, .failure(AuditVerificationError("record \(start + offset): \(error)")))
                    return
                }
            }
            results.set(chunk, .success((hashes, records)))
        }
        var hashes: [[UInt8]] = []
        var records: [AuditRecord] = []
        hashes.reserveCapacity(texts.count)
        records.reserveCapacity(texts.count)
        for result in results.values {
            switch result {
            case .success(let (chunkHashes, chunkRecords)):
                hashes += chunkHashes
                records += chunkRecords
            case .failure(let error):
                throw error
            case nil:
                throw AuditVerificationError("a chunk of records was not verified")
            }
        }
        return (hashes, records)
    }
}

/// Per-chunk results written by concurrent workers, each to its own slot.
private final class ChunkResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<([[UInt8]], [AuditRecord]), AuditVerificationError>?]

    init(count: Int) { self.values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<([[UInt8]], [AuditRecord]), AuditVerificationError>) {
        self.lock.withLock { self.values[index] = result }
    }
}

/// Why a segment, report or checkpoint did not verify.
public struct AuditVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
