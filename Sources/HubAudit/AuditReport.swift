public import Foundation
public import HubCrypto

/// A regulator's audit report: figures for a period, signed by the hub, carrying the log
/// segment they were computed from with its proof to a signed checkpoint — so that
/// ``AuditReportVerifier`` confirms offline that the report is the hub's, that the records are
/// in the published log, and that the figures follow from them. Specified in docs/audit.md.
public struct AuditReport: Codable, Sendable, Equatable {
    public static let currentFormat = "hub-audit-report-v1"

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

/// Builds signed reports from the audit log.
public struct AuditReporter: Sendable {
    let log: AuditLog
    let keyStore: any KeyStore
    let suite: CryptoSuite
    let basis: (any AccessBasisCheck)?

    /// Records integrated late may carry times a little before those already in the log: the
    /// segment reaches this far beyond the period on each side, so none of the period is missed.
    public static let margin: TimeInterval = 120

    /// - Parameter basis: The access tables, for the reads-without-relationship finding.
    public init(log: AuditLog, keyStore: any KeyStore, suite: CryptoSuite, basis: (any AccessBasisCheck)? = nil) {
        self.log = log
        self.keyStore = keyStore
        self.suite = suite
        self.basis = basis
    }

    /// The report for `parameters`, as of a checkpoint signed now.
    /// - Throws: ``AuditReportError`` when the period holds more than `maximumRecords`.
    public func report(_ parameters: AuditReportParameters, maximumRecords: Int = 100_000, at now: Date = Date()) async throws -> AuditReport {
        while try await self.log.integrate() > 0 {}
        let checkpoint = try await self.log.checkpoint(at: now)
        let size = checkpoint.checkpoint.size
        let range = try await self.log.indexRange(
            from: parameters.from.addingTimeInterval(-Self.margin), to: parameters.to.addingTimeInterval(Self.margin), below: size
        )
        if let range, range.count > maximumRecords {
            throw AuditReportError("the period holds \(range.count) audit records, more than the \(maximumRecords) a report carries: ask for a shorter period")
        }
        var records: [[UInt8]] = []
        var proof: [[UInt8]] = []
        if let range, !range.isEmpty {
            records = try await self.log.records(range)
            proof = try await self.log.rangeProof(range, size: size)
        }
        let start = range?.lowerBound ?? 0
        let decoded = try records.enumerated().map { offset, leaf in (index: start + offset, record: try AuditRecord(leafBytes: leaf)) }
        var body = AuditReport.Body(
            generatedAt: AuditReportParameters.instant(now), parameters: parameters, checkpoint: checkpoint.note,
            start: start, count: records.count, sections: AuditReportSections.compute(decoded, parameters: parameters)
        )
        if let basis = self.basis {
            // Successful, non-emergency reads of a patient's records by an organization.
            let reads = decoded.filter { entry in
                let record = entry.record
                return parameters.selects(record) && record.action == .read && record.status < 400 && record.caller.purposeOfUse != "ETREAT"
                    && record.patient != nil && record.caller.organization != nil && !record.entities.isEmpty
            }
            let unexplained = try await basis.unexplained(reads.map { ($0.record.caller.organization!, $0.record.patient!, $0.record.entities) })
            body.readsWithoutRelationship = unexplained.map { AuditReportSections.access(reads[$0].index, reads[$0].record) }
        }
        let signature = try await self.keyStore.sign(try body.signedBytes(), suite: self.suite)
        return AuditReport(body: body, signature: signature, segment: AuditLogSegment(checkpoint: checkpoint, start: start, records: records, proof: proof))
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
        guard report.format == AuditReport.currentFormat else { throw AuditVerificationError("unknown report format \(report.format)") }
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
