import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct AuditCommandTests {
    @Test func aRegulatorDownloadsAndVerifiesTheLogOfflineAndSeesTampering() async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let pki = hub.pki
                for _ in 0..<6 { _ = try await hub.send("GET", "/fhir/Patient?_count=1", presenting: pki) }
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let server = [
                    "--server", hub.url, "--ca", pki.caCertificate, "--cert", pki.regulator.clientCertificate, "--key", pki.regulator.clientKey,
                ]
                let keys = "\(directory)/hub-keys.json"
                let segment = "\(directory)/log.json"

                #expect(try await TestProcess.run("hubctl", ["audit", "keys", "-o", keys] + server).status == 0)
                let download = try await TestProcess.run("hubctl", ["audit", "download", "--sign", "-o", segment] + server)
                #expect(download.status == 0, "\(download.standardError)")
                let verify = try await TestProcess.run("hubctl", ["audit", "verify", segment, "--keys", keys])
                #expect(verify.status == 0, "\(verify.standardError)")
                #expect(verify.standardOutput.hasPrefix("verified: records 0..<"))
                let json = try await TestProcess.run("hubctl", ["audit", "verify", segment, "--keys", keys, "--json"])
                let report = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
                #expect(report?["verified"] as? Bool == true)
                let size = try #require(report?["treeSize"] as? Int)
                #expect(size >= 6)

                // An edited download is refused.
                let original = try String(contentsOfFile: segment, encoding: .utf8)
                let edited = "\(directory)/edited.json"
                try original.replacingOccurrences(of: "search-type", with: "search-tyqe").write(toFile: edited, atomically: true, encoding: .utf8)
                let refused = try await TestProcess.run("hubctl", ["audit", "verify", edited, "--keys", keys])
                #expect(refused.status == 1)
                #expect(refused.standardError.hasPrefix("hubctl: NOT verified: "))

                // A row changed in PostgreSQL (as its owner could) shows in the next download
                // against the same signed checkpoint.
                try await TestDatabase.tamperWithFirstAuditRead(url)
                let again = "\(directory)/again.json"
                #expect(try await TestProcess.run("hubctl", ["audit", "download", "--end", "\(size)", "-o", again] + server).status == 0)
                let tampered = try await TestProcess.run("hubctl", ["audit", "verify", again, "--keys", keys])
                #expect(tampered.status == 1)
                #expect(tampered.standardError.contains("altered"))

                // Without a client certificate: denied, exit 4.
                let denied = try await TestProcess.run("hubctl", ["audit", "checkpoint", "--server", hub.url, "--ca", pki.caCertificate])
                #expect(denied.status == 4)
            }
        }
    }
}
