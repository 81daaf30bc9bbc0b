import ArgumentParser
import Foundation
import HubAuditCore
import HubClient
import HubCrypto

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch the audit log's checkpoints, segments and keys, and verify them offline.",
        discussion: """
            A regulator's round trip: `hubctl audit keys -o hub-keys.json` (once, and compare with \
            what the hub operator published), `hubctl audit download --output log.json`, then \
            `hubctl audit verify log.json --keys hub-keys.json` anywhere, without the hub. \
            Reports: `hubctl audit report --from 2026-11-01 --to 2026-12-01 -o report.json --html report.html`, \
            then `hubctl audit verify report.json --keys hub-keys.json`.
            """,
        subcommands: [Checkpoint.self, Keys.self, Download.self, Report.self, Export.self, Verify.self]
    )

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the latest signed checkpoint (a C2SP signed note).")

        @OptionGroup var server: ServerOptions

        @Flag(name: .long, help: "Ask the hub to integrate what is queued and sign a checkpoint now.")
        var sign = false
        @Flag(help: "Print JSON: {origin, treeSize, rootHash, hashAlgorithm, signedAt, note}.") var json = false

        struct Summary: Encodable {
            var origin: String
            var treeSize: Int
            var rootHash: String
            var hashAlgorithm: String
            var signedAt: String
            var note: String
        }

        func run() async throws {
            let reply = try await Audit.call(self.server, self.sign ? "POST" : "GET", "/audit/checkpoint")
            let note = String(decoding: reply.body, as: UTF8.self)
            guard self.json else {
                print(note, terminator: "")
                return
            }
            let signed: SignedCheckpoint
            do {
                signed = try SignedCheckpoint(note: note)
            } catch {
                throw CLIFailure(message: "the hub's checkpoint does not parse: \(error)").exit()
            }
            let checkpoint = signed.checkpoint
            try Output.json(
                Summary(
                    origin: checkpoint.origin, treeSize: checkpoint.size, rootHash: Data(checkpoint.rootHash).base64EncodedString(),
                    hashAlgorithm: "\(checkpoint.hashAlgorithm)", signedAt: checkpoint.time.formatted(.iso8601), note: note
                ))
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save the hub's published signing keys (/.well-known/hub-keys).")

        @OptionGroup var server: ServerOptions

        @Option(name: [.short, .long], help: "File to write.")
        var output: String

        func run() async throws {
            let reply = try await Audit.call(self.server, "GET", "/.well-known/hub-keys")
            try Audit.write(reply.body, to: self.output)
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a segment of the audit log with its checkpoint and range proof.")

        @OptionGroup var server: ServerOptions

        @Option(name: .long, help: "First record (default 0).")
        var start = 0

        @Option(name: .long, help: "End of the segment, exclusive (default: the checkpoint's size).")
        var end: Int?

        @Flag(name: .long, help: "Have the hub sign a fresh checkpoint first, covering everything recorded so far.")
        var sign = false

        @Option(name: [.short, .long], help: "File to write.")
        var output: String

        func run() async throws {
            let checkpointReply = try await Audit.call(self.server, self.sign ? "POST" : "GET", "/audit/checkpoint")
            let signed: SignedCheckpoint
            do {
                signed = try SignedCheckpoint(note: String(decoding: checkpointReply.body, as: UTF8.self))
            } catch {
                throw CLIFailure(message: "the hub's checkpoint does not parse: \(error)").exit()
            }
            let size = signed.checkpoint.size
            let end = self.end ?? size
            guard self.start < end, end <= size else {
                throw CLIFailure(message: "the segment \(self.start)..<\(end) is not within the checkpoint's \(size) records", exitCode: 2).exit()
            }
            let reply = try await Audit.call(self.server, "GET", "/audit/log/segment?start=\(self.start)&end=\(end)&size=\(size)")
            try Audit.write(reply.body, to: self.output)
            FileHandle.standardError.write(Data("records \(self.start)..<\(end) of \(size) written to \(self.output)\n".utf8))
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a signed audit report of a period (JSON, verifiable offline), and optionally its CSV and HTML forms.",
            discussion: "Dates are YYYY-MM-DD (midnight, China Standard Time) or RFC 3339 times; the period is from..<to."
        )
        @OptionGroup var server: ServerOptions
        @Option(help: "Start of the period (inclusive).") var from: String
        @Option(help: "End of the period (exclusive).") var to: String
        @Option(help: "Only this organization's accesses.") var organization: String?
        @Option(help: "Only this user's (or client's) accesses.") var user: String?
        @Option(help: "Only accesses to this patient's records: who saw the record.") var patient: String?
        @Option(name: [.short, .long], help: "The signed report (JSON) to write.") var output: String
        @Option(help: "Also write the report as an HTML page (charts; opens offline in a browser), rendered from the signed JSON.")
        var html: String?
        @Option(help: "Also write the figures as CSV, rendered from the signed JSON.") var csv: String?

        func run() async throws {
            var query = "from=\(HubCall.query(self.from))&to=\(HubCall.query(self.to))"
            for (name, value) in [("organization", self.organization), ("user", self.user), ("patient", self.patient)] {
                if let value { query += "&\(name)=\(HubCall.query(value))" }
            }
            Output.progress("the hub is computing and signing the report…")
            let reply = try await Audit.call(self.server, "GET", "/audit/reports?\(query)")
            Output.endProgress()
            let report: AuditReport
            do {
                report = try JSONDecoder().decode(AuditReport.self, from: Data(reply.body))
            } catch {
                throw CLIFailure(message: "the hub's report does not parse: \(error)").exit()
            }
            try Audit.write(reply.body, to: self.output)
            // The CSV and HTML forms of this very report (one computation, one checkpoint):
            // `hubctl audit verify report.csv --report report.json` proves them.
            if let html { try Audit.write(Array(report.html().utf8), to: html) }
            if let csv { try Audit.write(Array(report.csv().utf8), to: csv) }
            let sections = report.body.sections
            FileHandle.standardError.write(
                Data(
                    "\(sections.total) accesses, \(sections.denied.count) denied, \(sections.breakGlass.count) break-glass, \(sections.afterHours) after hours; written to \(self.output)\n"
                        .utf8
                ))
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a period's audit records as FHIR AuditEvents, one per line (NDJSON), for an external audit repository.")
        @OptionGroup var server: ServerOptions
        @Option(help: "Start of the period (inclusive; YYYY-MM-DD or RFC 3339).") var from: String
        @Option(help: "End of the period (exclusive).") var to: String
        @Option(name: [.short, .long], help: "File to write.") var output: String

        func run() async throws {
            Output.progress("downloading the period's audit records…")
            let reply = try await Audit.call(self.server, "GET", "/audit/export?from=\(HubCall.query(self.from))&to=\(HubCall.query(self.to))")
            Output.endProgress()
            try Audit.write(reply.body, to: self.output)
            let lines = reply.body.split(separator: UInt8(ascii: "\n")).count
            FileHandle.standardError.write(Data("\(lines) AuditEvents written to \(self.output)\n".utf8))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a downloaded segment offline against the hub's published keys.",
            discussion: "Exit 0 when the signature and every record check out, 1 otherwise (with the reason)."
        )

        @Argument(
            help:
                "A segment written by `hubctl audit download` (or GET /audit/log/segment), or a report written by `hubctl audit report` (JSON, or CSV/HTML with its .sig)."
        )
        var segment: String

        @Option(name: .long, help: "For a CSV or HTML report downloaded from the hub: its detached signature (default: the file's path + .sig).")
        var signature: String?

        @Option(name: .long, help: "For a CSV or HTML report written by `hubctl audit report`: the signed JSON report it was rendered from.")
        var report: String?

        @Option(name: .long, help: "The hub's published keys, as saved by `hubctl audit keys`.")
        var keys: String

        @Flag(name: .long, help: "Print the result as JSON: {verified, treeSize, rootHash, signedAt, start, end, records, error}.")
        var json = false

        struct Report: Encodable {
            var verified: Bool
            var treeSize: Int?
            var rootHash: String?
            var signedAt: String?
            var start: Int?
            var end: Int?
            var records: Int?
            var error: String?
        }

        /// What a CSV report says it covers (its `report` rows), for the verdict.
        static func scope(of data: Data, _ rendering: RenderedReportSignature.Rendering) -> String {
            guard rendering == .csv else { return "" }
            let rows = String(decoding: data, as: UTF8.self).split(separator: "\r\n").filter { $0.hasPrefix("report,") }
            let pairs = rows.compactMap { row -> String? in
                let fields = row.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count >= 7, ["from", "to", "organization", "user", "patient", "records"].contains(String(fields[1])) else { return nil }
                return "\(fields[1]) \(fields[6...].joined(separator: ","))"
            }
            return pairs.isEmpty ? "" : ": " + pairs.joined(separator: "; ")
        }

        func run() throws {
            var report = Report(verified: false)
            do {
                let document = try JSONDecoder().decode(PublishedKeysDocument.self, from: try Audit.read(self.keys))
                let data = try Audit.read(self.segment)
                if let rendering = RenderedReportSignature.Rendering(fileName: self.segment) {
                    let keys = try document.verifyingKeys(registry: .standard())
                    let how: String
                    if let path = self.report {
                        // Rendered from a signed report: the report verifies, and renders to exactly these bytes.
                        let source = try JSONDecoder().decode(HubAuditCore.AuditReport.self, from: try Audit.read(path))
                        try AuditReportVerifier(keys: keys).verify(source)
                        let expected = rendering == .csv ? source.csv() : source.html()
                        guard Array(expected.utf8) == Array(data) else {
                            throw CLIFailure(message: "the \(rendering.rawValue) file is not the rendering of \(path): it was altered")
                        }
                        how = "is the rendering of a verified report"
                    } else {
                        // Downloaded from the hub: its signature over the exact bytes.
                        let signature = String(decoding: try Audit.read(self.signature ?? self.segment + ".sig"), as: UTF8.self)
                        try RenderedReportSignature.verify(Array(data), rendering, signature: signature, keys: keys)
                        how = "is exactly as the hub signed it"
                    }
                    if self.json {
                        try Output.json(Report(verified: true))
                    } else {
                        print("verified: the \(rendering.rawValue) report \(how)\(Self.scope(of: data, rendering))")
                    }
                    return
                }
                if let report = try? JSONDecoder().decode(HubAuditCore.AuditReport.self, from: data) {
                    // A report: its signature, its records' proof, and its figures recomputed.
                    try AuditReportVerifier(keys: try document.verifyingKeys(registry: .standard())).verify(report)
                    let sections = report.body.sections
                    if self.json {
                        try Output.json(
                            Report(verified: true, start: report.body.start, end: report.body.start + report.body.count, records: report.body.count))
                    } else {
                        print(
                            "verified: the report is signed by the hub, its \(report.body.count) records are in the signed log, and its figures (\(sections.total) accesses, \(sections.denied.count) denied, \(sections.breakGlass.count) break-glass) follow from them"
                        )
                    }
                    return
                }
                let segment = try JSONDecoder().decode(AuditLogSegment.self, from: data)
                let verified = try AuditLogVerifier(keys: try document.verifyingKeys(registry: .standard())).verify(segment)
                report = Report(
                    verified: true,
                    treeSize: verified.checkpoint.size,
                    rootHash: Data(verified.checkpoint.rootHash).base64EncodedString(),
                    signedAt: verified.checkpoint.time.formatted(.iso8601),
                    start: verified.range.lowerBound,
                    end: verified.range.upperBound,
                    records: try verified.records().count
                )
            } catch let error as CLIFailure {
                report.error = error.message
            } catch let error as DecodingError {
                report.error = "not a segment or keys document: \(error)"
            } catch {
                report.error = "\(error)"
            }
            if self.json {
                try Output.json(report)
                if !report.verified { throw ExitCode(1) }
            } else if let error = report.error {
                throw CLIFailure(message: "NOT verified: \(error)").exit()
            } else {
                print(
                    "verified: records \(report.start ?? 0)..<\(report.end ?? 0) are in the log of \(report.treeSize ?? 0) records signed at \(report.signedAt ?? "")"
                )
            }
        }
    }

    /// One call to the audit API, with hubctl's exit codes (3 not found, 4 denied).
    static func call(_ options: ServerOptions, _ method: String, _ path: String) async throws -> HubClient.Reply {
        try await HubCall.run(options) { try await $0.send(method, path) }
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIFailure(message: "cannot read \(path)") }
        return data
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CLIFailure(message: "cannot write \(path)").exit()
        }
    }
}
