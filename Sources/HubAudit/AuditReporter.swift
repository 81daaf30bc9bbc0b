public import Foundation
public import HubAuditCore
public import HubCrypto

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

    /// The hub's detached signature (base64) over a rendering of a report: what the
    /// `Hub-Signature` header of a CSV or HTML report carries.
    public func sign(_ bytes: [UInt8], as rendering: RenderedReportSignature.Rendering) async throws -> String {
        let signed = try await self.keyStore.sign(RenderedReportSignature.message(bytes, rendering), suite: self.suite)
        return Data(signed.serialized).base64EncodedString()
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
            throw AuditReportError(
                "the period holds \(range.count) audit records, more than the \(maximumRecords) a report carries: ask for a shorter period")
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
                return parameters.selects(record) && record.action == .read && record.outcome == .success && record.caller.purposeOfUse != "ETREAT"
                    && record.patient != nil && record.caller.organization != nil && !record.entities.isEmpty
            }
            let unexplained = try await basis.unexplained(
                reads.map { entry in
                    let record = entry.record
                    return AuditedRead(
                        organization: record.caller.organization ?? "", patient: record.patient ?? "", entities: record.entities, time: record.time,
                        purposeOfUse: record.caller.purposeOfUse)
                })
            body.readsWithoutRelationship = unexplained.map { AuditReportSections.access(reads[$0].index, reads[$0].record) }
        }
        let signature = try await self.keyStore.sign(try body.signedBytes(), suite: self.suite)
        return AuditReport(
            body: body, signature: signature, segment: AuditLogSegment(checkpoint: checkpoint, start: start, records: records, proof: proof))
    }
}
