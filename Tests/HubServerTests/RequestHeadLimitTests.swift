import Foundation
import HTTPTypes
import HubClient
import HubConfig
import HubTestSupport
import NIOHTTP1
import NIOHTTPTypes
import Testing

@testable import HubServer

/// Requests whose head is larger than the hub takes, or is not HTTP at all, are refused with an
/// OperationOutcome and the exact status — sent by curl, or byte for byte by a Python peer.
@Suite struct RequestHeadLimitTests {
    struct Answer {
        var status: String
        var body: String
        var headers: String
        var outcome: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any]
        }
        var issueCode: String? { ((self.outcome?["issue"] as? [[String: Any]])?.first)?["code"] as? String }
    }

    static func curl(_ hub: RunningHub, _ arguments: [String], path: String) async throws -> Answer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("head-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let headers = directory.appendingPathComponent("headers").path
        let common: [String] = ["-s", "--globoff", "-D", headers, "-w", "\n%{http_code}", "--cacert", hub.pki.caCertificate]
        let output = try await TestProcess.runTool("curl", common + arguments + ["\(hub.url)\(path)"])
        let lines = output.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        return Answer(
            status: String(lines.last ?? ""), body: lines.dropLast().joined(separator: "\n"),
            headers: (try? String(contentsOfFile: headers, encoding: .utf8)) ?? "")
    }

    /// A header of `bytes` bytes, in a file for `curl -H @file` (too long for an argument).
    static func headerFile(bytes: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("header-\(UUID().uuidString)").path
        try Data(("X-Padding: " + String(repeating: "a", count: bytes) + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func anOverLongURIIs414AndOverLongHeadersAre431() async throws {
        try await withHub { hub in
            // The integrator's case: a 100,000-character query.
            let long = try await Self.curl(hub, [], path: "/fhir/Patient?family=" + String(repeating: "x", count: 100_000))
            #expect(long.status == "414", "\(long.headers)")
            #expect(long.outcome?["resourceType"] as? String == "OperationOutcome")
            #expect(long.issueCode == "too-long")
            // Just within the limit, the request goes on (to the gate: no credentials, 401).
            let within = String(repeating: "x", count: RequestHeadLimits.uriBytes - "/fhir/Patient?family=".utf8.count)
            #expect(try await Self.curl(hub, [], path: "/fhir/Patient?family=" + within).status == "401")
            #expect(try await Self.curl(hub, [], path: "/fhir/Patient?family=" + within + "x").status == "414")

            let header = try Self.headerFile(bytes: 70_000)
            defer { try? FileManager.default.removeItem(atPath: header) }
            let large = try await Self.curl(hub, ["-H", "@\(header)"], path: "/fhir/Patient")
            #expect(large.status == "431")
            #expect(large.issueCode == "too-long")
        }
    }

    /// What `Tests/Peers/raw_request.py` got back for a head sent exactly as given.
    static func raw(_ hub: RunningHub, _ mode: String, _ value: String, path: String = "/fhir/Patient") async throws -> Answer {
        let url = try #require(URL(string: hub.url))
        let output = try await TestPeer.run(
            "raw_request.py", [url.host ?? "127.0.0.1", String(url.port ?? 443), hub.pki.caCertificate, mode, value, path])
        let reply = try #require(
            try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any], "\(output.standardError)")
        let headers = (reply["headers"] as? [String: String] ?? [:]).map { "\($0): \($1)" }.joined(separator: "\n")
        return Answer(status: String(reply["status"] as? Int ?? 0), body: reply["body"] as? String ?? "", headers: headers)
    }

    @Test func aHeadTheParserRefusesIsAnsweredWithAnOperationOutcomeAndTheConnectionClosed() async throws {
        try await withHub { hub in
            let huge = try await Self.raw(hub, "--header-bytes", String(RequestHeadLimits.parserBytes + 1024))
            #expect(huge.status == "431", "\(huge.headers)")
            #expect(huge.outcome?["resourceType"] as? String == "OperationOutcome")
            #expect(huge.issueCode == "too-long")
            #expect(huge.headers.lowercased().contains("connection: close"))
            // Not HTTP: a method with a space in it.
            let malformed = try await Self.raw(hub, "--request-line", "GE T /fhir/metadata HTTP/1.1")
            #expect(malformed.status == "400", "\(malformed.headers)")
            #expect(malformed.issueCode == "invalid")
            // The hub is unharmed.
            #expect(try await Self.curl(hub, [], path: "/fhir/metadata").status == "200")
        }
    }

    /// The parser's refusal is answered only between requests: in the middle of one, or behind
    /// one not yet answered, it is left to Hummingbird, so two answers never interleave.
    @Test func theResponderAnswersOnlyBetweenRequests() {
        typealias State = UnparsableRequestResponder.State
        var state = State()
        guard case .answer(let status, let diagnostics) = state.caught(HTTPParserError.headerOverflow) else {
            Issue.record("a head too large between requests is answered")
            return
        }
        #expect(status.code == 431 && diagnostics.contains("\(RequestHeadLimits.parserBytes)"))
        guard case .answer(let malformed, _) = state.caught(HTTPParserError.invalidMethod) else {
            Issue.record("a malformed request between requests is answered")
            return
        }
        #expect(malformed.code == 400)
        state.received(.head(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/fhir/metadata")))
        #expect(state.caught(HTTPParserError.invalidChunkSize) == .forward)
        state.received(.end(nil))
        #expect(state.caught(HTTPParserError.invalidMethod) == .forward, "the first request is not answered yet")
        state.sent(.head(HTTPResponse(status: .ok)))
        state.sent(.end(nil))
        #expect(state.caught(HTTPParserError.invalidMethod) != .forward)
        #expect(state.caught(CancellationError()) == .forward)
    }
}
