import Foundation
import HubAudit
import HubFHIR
import Testing

/// The leaf format (docs/audit.md): how an interaction ended is said the same way on every
/// transport, and leaves of the older format still read — and serialise back byte for byte, as
/// their hashes in the tree demand.
@Suite struct AuditRecordTests {
    static let caller = Caller(client: "lab-his", organization: "hospital-a", address: "127.0.0.1", requestID: "r-1")
    static let time = Date(timeIntervalSince1970: 1_796_000_000.123)

    @Test func aRecordWithoutAnHTTPStatusHasNoStatusMemberAndReadsBack() throws {
        let record = AuditRecord(
            time: Self.time, action: .create, interaction: "hl7v2", outcome: .minorFailure, issue: .forbidden, caller: Self.caller,
            resourceType: "DiagnosticReport")
        let text = String(decoding: record.leafBytes, as: UTF8.self)
        #expect(!text.contains("\"status\""))
        #expect(text.contains(#""issue":"forbidden""#))
        #expect(text.contains(#""v":2"#))
        let back = try AuditRecord(leafBytes: record.leafBytes)
        #expect(back == record)
        #expect(back.status == nil && back.issue == .forbidden && back.outcome == .minorFailure)
    }

    @Test func anHTTPRecordKeepsItsStatusBesideItsIssue() throws {
        let record = AuditRecord(
            time: Self.time, action: .read, interaction: "read", outcome: .minorFailure, issue: .login, status: 401, caller: Self.caller)
        let back = try AuditRecord(leafBytes: record.leafBytes)
        #expect(back.status == 401 && back.issue == .login)
        #expect(back.leafBytes == record.leafBytes)
    }

    /// A version 1 leaf, as the hub wrote them before: every record had an HTTP status, none an
    /// issue. It reads with its denials recognised, and writes back to exactly its bytes.
    @Test func versionOneLeavesReadAndSerialiseBackUnchanged() throws {
        let leaf =
            #"{"action":"R","client":"his-b","id":"0b1e","interaction":"read","organization":"hospital-b","outcome":4,"patient":"p1","purpose":"TREAT","status":403,"time":"2026-12-01T02:13:20.123Z","type":"Patient","v":1}"#
        let record = try AuditRecord(leafBytes: Array(leaf.utf8))
        #expect(record.version == 1 && record.status == 403 && record.issue == .forbidden && record.outcome == .minorFailure)
        #expect(String(decoding: record.leafBytes, as: UTF8.self) == leaf)
        let created = leaf.replacingOccurrences(of: #""outcome":4"#, with: #""outcome":0"#).replacingOccurrences(of: "403", with: "201")
        #expect(try AuditRecord(leafBytes: Array(created.utf8)).issue == nil)
        let withoutStatus = leaf.replacingOccurrences(of: #""status":403,"#, with: "")
        #expect(throws: AuditRecordError.self) { try AuditRecord(leafBytes: Array(withoutStatus.utf8)) }
    }

    @Test func unknownVersionsAndIssueTypesAreRefused() {
        let record = AuditRecord(time: Self.time, action: .read, interaction: "read", caller: Self.caller)
        let text = String(decoding: record.leafBytes, as: UTF8.self)
        for changed in [
            text.replacingOccurrences(of: #""v":2"#, with: #""v":3"#),
            text.replacingOccurrences(of: #""outcome":0,"#, with: #""issue":"mystery","outcome":4,"#),
            text.replacingOccurrences(of: #""outcome":0,"#, with: ""),
        ] {
            #expect(throws: AuditRecordError.self, "\(changed)") { try AuditRecord(leafBytes: Array(changed.utf8)) }
        }
    }
}
