import Foundation
import HTTPTypes
public import HubAudit
import HubFHIR
public import Hummingbird
import NIOCore

/// The audit log's public face (docs/audit.md): signed checkpoints, inclusion, consistency and
/// range proofs, and log segments for offline verification.
/// For regulators only (`AccessGate.regulators`).
public struct AuditLogRoutes: Sendable {
    let log: AuditLog
    let reporter: AuditReporter
    /// Records in one segment at most.
    public static let maximumSegment = 100_000
    static let signatureHeader = HTTPField.Name(RenderedReportSignature.headerName)!

    public init(log: AuditLog, reporter: AuditReporter) {
        self.log = log
        self.reporter = reporter
    }

    public func add(to router: Router<HubRequestContext>) {
        let group = router.group("audit").add(middleware: AccessGate.regulators)
        // The latest checkpoint, or the one for `size`: a signed note, as text.
        group.get("checkpoint") { request, context in
            context.audit.interaction("audit-checkpoint", action: .read)
            let signed: SignedCheckpoint?
            if let size = try Self.integer(request, "size", required: false) {
                signed = try await self.log.checkpoint(size: size)
            } else {
                signed = try await self.log.latestCheckpoint()
            }
            guard let signed else { throw APIError(.notFound, code: .notFound, diagnostics: "no checkpoint was signed for that size") }
            return Self.note(signed)
        }
        // Integrates what is queued and signs a checkpoint now (or returns the current one).
        group.post("checkpoint") { _, context in
            context.audit.interaction("audit-checkpoint", action: .execute)
            while try await self.log.integrate() > 0 {}
            return Self.note(try await self.log.checkpoint())
        }
        // A signed report of a period: JSON (verifiable offline), CSV or an HTML page.
        group.get("reports") { request, context in
            context.audit.interaction("audit-report", action: .read)
            let query = request.uri.queryParameters
            let (from, to) = try Self.period(request)
            let parameters = AuditReportParameters(
                from: from, to: to,
                organization: query.get("organization"), user: query.get("user"),
                patient: query.get("patient").map { $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : $0 }
            )
            let format = query.get("format") ?? "json"
            guard ["json", "csv", "html"].contains(format) else { throw APIError.badRequest("format is json, csv or html") }
            let report: AuditReport
            do {
                report = try await self.reporter.report(parameters, maximumRecords: Self.maximumSegment)
            } catch let error as AuditReportError {
                throw APIError(.unprocessableContent, code: .tooCostly, diagnostics: error.message)
            }
            // CSV and HTML carry the hub's detached signature over their exact bytes.
            let rendered: (RenderedReportSignature.Rendering, [UInt8])
            switch format {
            case "csv": rendered = (.csv, Array(report.csv().utf8))
            case "html": rendered = (.html, Array(report.html().utf8))
            default: return Response.json(report, headers: [.cacheControl: "no-store"])
            }
            let signature = try await self.reporter.sign(rendered.1, as: rendered.0)
            var headers: HTTPFields = [.contentType: "\(rendered.0.rawValue); charset=utf-8", .cacheControl: "no-store"]
            headers[Self.signatureHeader] = signature
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: rendered.1)))
        }
        // The records of a period as FHIR AuditEvents, one per line (NDJSON), for external audit
        // repositories; streamed in chunks.
        group.get("export") { request, context in
            context.audit.interaction("export", action: .read)
            let (from, to) = try Self.period(request)
            while try await self.log.integrate() > 0 {}
            let size = try await self.log.size()
            let range =
                try await self.log.indexRange(
                    from: from.addingTimeInterval(-AuditReporter.margin), to: to.addingTimeInterval(AuditReporter.margin), below: size
                ) ?? 0..<0
            let log = self.log
            let body = ResponseBody { writer in
                for first in stride(from: range.lowerBound, to: range.upperBound, by: 2_000) {
                    let chunk = first..<min(first + 2_000, range.upperBound)
                    var buffer = ByteBuffer()
                    for (offset, leaf) in try await log.records(chunk).enumerated() {
                        let record = try AuditRecord(leafBytes: leaf)
                        guard record.time >= from, record.time < to else { continue }
                        buffer.writeBytes(JSONValue.object(record.fhirAuditEvent(logIndex: chunk.lowerBound + offset)).serialized())
                        buffer.writeInteger(UInt8(ascii: "\n"))
                    }
                    try await writer.write(buffer)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/fhir+ndjson", .cacheControl: "no-store"], body: body)
        }
        group.get("proof/inclusion") { request, context in
            context.audit.interaction("audit-proof", action: .read)
            let index = try Self.integer(request, "index") ?? 0
            let size = try Self.integer(request, "size") ?? 0
            guard index < size else { throw APIError.badRequest("index must be below size") }
            let proof = try await self.log.inclusionProof(index: index, size: size)
            return Response.json(InclusionProof(index: index, treeSize: size, hashes: proof.map(Self.base64)))
        }
        group.get("proof/consistency") { request, context in
            context.audit.interaction("audit-proof", action: .read)
            let from = try Self.integer(request, "from") ?? 0
            let to = try Self.integer(request, "to") ?? 0
            guard from <= to else { throw APIError.badRequest("from must not exceed to") }
            let proof = try await self.log.consistencyProof(oldSize: from, newSize: to)
            return Response.json(ConsistencyProof(from: from, to: to, hashes: proof.map(Self.base64)))
        }
        // Records start..<end with the range proof to the checkpoint of `size` (default: the latest).
        group.get("log/segment") { request, context in
            context.audit.interaction("audit-export", action: .read)
            let start = try Self.integer(request, "start") ?? 0
            let end = try Self.integer(request, "end") ?? 0
            guard start < end else { throw APIError.badRequest("start must be below end") }
            guard end - start <= Self.maximumSegment else {
                throw APIError(
                    .contentTooLarge, code: .tooCostly, diagnostics: "a segment holds at most \(Self.maximumSegment) records; ask for several")
            }
            let requested = try Self.integer(request, "size", required: false)
            let found = if let requested { try await self.log.checkpoint(size: requested) } else { try await self.log.latestCheckpoint() }
            guard let checkpoint = found else {
                throw APIError(.notFound, code: .notFound, diagnostics: "no checkpoint was signed for that size")
            }
            guard end <= checkpoint.checkpoint.size else {
                throw APIError.badRequest("end lies beyond the checkpoint's \(checkpoint.checkpoint.size) records; POST /audit/checkpoint first")
            }
            let segment = AuditLogSegment(
                checkpoint: checkpoint,
                start: start,
                records: try await self.log.records(start..<end),
                proof: try await self.log.rangeProof(start..<end, size: checkpoint.checkpoint.size)
            )
            return Response.json(segment)
        }
    }

    struct InclusionProof: Encodable {
        var index: Int
        var treeSize: Int
        var hashes: [String]
    }

    struct ConsistencyProof: Encodable {
        var from: Int
        var to: Int
        var hashes: [String]
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The period `from..<to` a request names; at most a year.
    static func period(_ request: Request) throws(APIError) -> (Date, Date) {
        let query = request.uri.queryParameters
        func date(_ name: String) throws(APIError) -> Date {
            guard let text = query.get(name) else {
                throw APIError.badRequest("\(name) is required (a FHIR date or dateTime: YYYY-MM-DD, or with a time and zone)")
            }
            guard let date = Self.reportDate(text) else {
                throw APIError.badRequest("\(name) must be a FHIR date or dateTime (YYYY-MM-DD, or with a time and zone)")
            }
            return date
        }
        let (from, to) = (try date("from"), try date("to"))
        guard from < to, to.timeIntervalSince(from) <= 366 * 86_400 else {
            throw APIError.badRequest("from must come before to, at most a year apart")
        }
        return (from, to)
    }

    /// The start of a FHIR date or dateTime (`YYYY-MM-DD` is midnight, China Standard Time).
    static func reportDate(_ text: String) -> Date? {
        FHIRDateRange(text)?.low
    }

    static func note(_ signed: SignedCheckpoint) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: .init(string: signed.note))
        )
    }

    static func integer(_ request: Request, _ name: String, required: Bool = true) throws(APIError) -> Int? {
        guard let text = request.uri.queryParameters.get(name) else {
            if required { throw APIError.badRequest("\(name) is required") }
            return nil
        }
        guard let value = Int(text), value >= 0 else { throw APIError.badRequest("\(name) must be a whole number ≥ 0") }
        return value
    }
}
