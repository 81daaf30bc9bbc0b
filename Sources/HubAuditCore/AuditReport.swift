import Foundation
public import HubCrypto

/// A regulator's audit report: figures for a period, signed by the hub, carrying the log
/// segment they were computed from with its proof to a signed checkpoint — so that
/// ``AuditReportVerifier`` confirms offline that the report is the hub's, that the records are
/// in the published log, and that the figures follow from them. Specified in docs/audit.md.
public struct AuditReport: Codable, Sendable, Equatable {
    /// v2 since a record's failure is its issue type and only HTTP records have a status.
    public static let currentFormat = "hub-audit-report-v2"
    /// What a verifier reads: v1 reports (signed before) verify as they were signed.
    public static let readableFormats: Set<String> = ["hub-audit-report-v1", Self.currentFormat]

    /// What the hub signs.
    public struct Body: Codable, Sendable, Equatable {
        public var generatedAt: String
        public var parameters: AuditReportParameters
        /// The signed checkpoint (note) and the index range of the records the figures come from.
        public var checkpoint: String
        public var start: Int
        public var count: Int
        public var sections: AuditReportSections
        /// What the hub found with facts outside the log (its access tables, now): successful
        /// reads of a patient's records by an organization with no care relationship, consent,
        /// share or emergency to explain them — there should be none. Signed, but not
        /// recomputable offline; nil when the report was made without the access tables.
        public var readsWithoutRelationship: [AuditReportSections.Access]?

        package init(
            generatedAt: String, parameters: AuditReportParameters, checkpoint: String, start: Int, count: Int, sections: AuditReportSections,
            readsWithoutRelationship: [AuditReportSections.Access]? = nil
        ) {
            self.generatedAt = generatedAt
            self.parameters = parameters
            self.checkpoint = checkpoint
            self.start = start
            self.count = count
            self.sections = sections
            self.readsWithoutRelationship = readsWithoutRelationship
        }

        /// The bytes signed: JSON with sorted keys, no insignificant whitespace, `/` unescaped.
        public func signedBytes() throws -> [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(self))
        }
    }

    public var format: String
    public var body: Body
    /// The hub's signature over ``Body/signedBytes()``: a self-describing signed object, base64.
    public var signature: String
    /// The records, with their range proof to the checkpoint.
    public var segment: AuditLogSegment

    public init(body: Body, signature: SignedObject, segment: AuditLogSegment) {
        self.format = Self.currentFormat
        self.body = body
        self.signature = Data(signature.serialized).base64EncodedString()
        self.segment = segment
    }
}

/// Checks a report offline with the hub's published keys: its signature, its segment (the
/// checkpoint's signature and the range proof), and every figure recomputed from the records.
public struct AuditReportVerifier: Sendable {
    let keys: [String: any VerifyingKey]
    let registry: AlgorithmRegistry

    public init(keys: [String: any VerifyingKey], registry: AlgorithmRegistry = .standard()) {
        self.keys = keys
        self.registry = registry
    }

    public func verify(_ report: AuditReport) throws(AuditVerificationError) {
        guard AuditReport.readableFormats.contains(report.format) else { throw AuditVerificationError("unknown report format \(report.format)") }
        guard let bytes = Data(base64Encoded: report.signature), let signature = try? SignedObject(parsing: Array(bytes)) else {
            throw AuditVerificationError("the report's signature is not a signed object")
        }
        guard let key = self.keys[signature.header.keyID.value] else {
            throw AuditVerificationError("the report is signed with key \(signature.header.keyID.value), which is not among the published keys")
        }
        guard let signed = try? report.body.signedBytes(), signature.isValid(for: signed, key: key) else {
            throw AuditVerificationError("the report's signature does not verify: the report was altered or is not the hub's")
        }
        guard report.segment.checkpoint == report.body.checkpoint, report.segment.start == report.body.start,
            report.segment.records.count == report.body.count
        else {
            throw AuditVerificationError("the records carried are not the ones the report was computed from")
        }
        var decoded: [(index: Int, record: AuditRecord)] = []
        if report.body.count > 0 {
            _ = try AuditLogVerifier(keys: self.keys, registry: self.registry).verify(report.segment)
            for (offset, leaf) in report.segment.records.enumerated() {
                do {
                    decoded.append((report.body.start + offset, try AuditRecord(leafBytes: Array(leaf.utf8))))
                } catch {
                    throw AuditVerificationError("record \(report.body.start + offset) does not parse: \(error)")
                }
            }
        } else {
            do {
                try SignedCheckpoint(note: report.body.checkpoint).verify(with: self.keys)
            } catch {
                throw AuditVerificationError("checkpoint: \(error)")
            }
        }
        guard AuditReportSections.compute(decoded, parameters: report.body.parameters) == report.body.sections else {
            throw AuditVerificationError("the report's figures do not follow from its records")
        }
    }
}

/// A report that cannot be made as asked.
public struct AuditReportError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
