import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRSearchRoutesTests {
    /// A query whose percent-encoding is broken is refused with an OperationOutcome, not read as
    /// written (sent by curl: HTTP client libraries refuse to send such a URL at all).
    @Test func anInvalidPercentEncodingIsRefused() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let ask: @Sendable (String) async throws -> (status: String, body: String) = { query in
                let output = try await TestProcess.runTool(
                    "curl",
                    [
                        "-s", "--globoff", "-w", "\n%{http_code}", "--cacert", pki.caCertificate, "--cert", pki.clientCertificate,
                        "--key", pki.clientKey, "\(hub.url)/fhir/Patient?\(query)",
                    ])
                let lines = output.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
                return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
            }
            for query in ["family=%ZZ", "family=%E4%B8", "name=a%2"] {
                let answer = try await ask(query)
                #expect(answer.status == "400", "\(query)")
                #expect(answer.body.contains("OperationOutcome") && answer.body.contains("percent-encoding"), "\(query): \(answer.body)")
            }
            #expect(try await ask("family=%E7%8E%8B").status == "200")
        }
    }

    @Test func searchesAndPagesOverHTTPS() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 99)
            for _ in 0..<5 {
                let reply = try await hub.send(
                    "POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: Array(patients.patientJSON().utf8), presenting: pki)
                #expect(reply.status == 201)
            }
            let first = try jsonObject(
                try await hub.send("GET", "/fhir/Patient?identifier=urn:health-hub:sid:mrn:H001%7C&_count=2&_total=accurate", presenting: pki))
            #expect(first["type"] as? String == "searchset")
            #expect(first["total"] as? Int == 5)
            #expect((first["entry"] as? [Any])?.count == 2)
            let links = first["link"] as? [[String: Any]] ?? []
            let next = try #require(links.first { $0["relation"] as? String == "next" }?["url"] as? String)
            #expect(next.contains("_cursor="))
            // Follow next links to the end, as a client would.
            var url = next
            var seen = 2
            while true {
                let path = String(url[try #require(url.range(of: "/fhir/")).lowerBound...])
                let page = try jsonObject(try await hub.send("GET", path, presenting: pki))
                seen += (page["entry"] as? [Any])?.count ?? 0
                guard let following = (page["link"] as? [[String: Any]])?.first(where: { $0["relation"] as? String == "next" })?["url"] as? String
                else { break }
                url = following
            }
            #expect(seen == 5)

            // POST _search with a form body.
            let posted = try await hub.send(
                "POST",
                "/fhir/Patient/_search",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("gender=male,female&_summary=count".utf8),
                presenting: pki
            )
            #expect(try jsonObject(posted)["total"] as? Int == 5)

            // Unknown parameters: 400, or ignored and reported with handling=lenient.
            let strict = try await hub.send("GET", "/fhir/Patient?shoe-size=42", presenting: pki)
            #expect(strict.status == 400)
            let lenient = try jsonObject(
                try await hub.send("GET", "/fhir/Patient?shoe-size=42&_count=1", headers: [("Prefer", "handling=lenient")], presenting: pki))
            let outcome = (lenient["entry"] as? [[String: Any]])?.last
            #expect((outcome?["search"] as? [String: Any])?["mode"] as? String == "outcome")
        }
    }
}
