import Foundation

/// A contiguous run of the audit log with what proves it: the signed checkpoint it belongs to
/// and a range proof. What `GET /audit/log/segment` answers and `hubctl audit verify` checks,
/// specified in `docs/audit.md`.
public struct AuditLogSegment: Codable, Sendable, Equatable {
    public static let currentFormat = "hub-audit-segment-v1"

    public var format: String
    /// The signed note of the checkpoint the proof leads to.
    public var checkpoint: String
    /// The index of the first record.
    public var start: Int
    /// The records' leaf bytes, each as the JSON string of its (UTF-8) text.
    public var records: [String]
    /// ``MerkleTree/rangeProof(_:size:in:)`` of `start..<start + records.count`, base64.
    public var proof: [String]

    public init(checkpoint: SignedCheckpoint, start: Int, records: [[UInt8]], proof: [[UInt8]]) {
        self.format = Self.currentFormat
        self.checkpoint = checkpoint.note
        self.start = start
        self.records = records.map { String(decoding: $0, as: UTF8.self) }
        self.proof = proof.map { Data($0).base64EncodedString() }
    }
}
