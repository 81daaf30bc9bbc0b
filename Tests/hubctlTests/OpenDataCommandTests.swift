import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// `hubctl open`: a regulator's workflow from the terminal, and anyone's download and offline
/// verification of a public release.
@Suite struct OpenDataCommandTests {
    @Test func aReleaseIsReviewedPublishedDownloadedAndVerifiedWithHubctl() async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            configuration.openData.pollMilliseconds = 200
            try await TestHub.withRunning(configuration) { hub in
                let pki = hub.pki
                let fhir = [("Content-Type", "application/fhir+json")]
                for number in 0..<12 {
                    var synthetic = SyntheticPatients(seed: UInt64(number + 1))
                    let person = synthetic.person(number: number)
                    let created = try await hub.send(
                        "POST", "/fhir/Patient", headers: fhir, body: Array(synthetic.patientJSON(person, home: true).utf8), presenting: pki)
                    let id = try #require(try JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any])["id"] as? String
                    let condition = synthetic.conditionJSON(
                        patient: "Patient/\(id ?? "")", code: "I10", display: "原发性高血压", day: "2026-02-0\(number % 9 + 1)")
                    #expect(try await hub.send("POST", "/fhir/Condition", headers: fhir, body: Array(condition.utf8), presenting: pki).status == 201)
                }
                // A second regulator defines (through the API); the certificate's regulator approves with hubctl.
                let admin = try await hub.token(for: TestHub.Identities.administrator)
                let added = try await hub.send(
                    "POST", "/admin/principals", headers: [("Content-Type", "application/json")],
                    body: Array(#"{"id":"second-regulator","role":"regulator","organization":"health-commission","name":"钱监管员"}"#.utf8),
                    bearer: admin)
                #expect(added.status == 201)
                let second = try await hub.token(for: "second-regulator")
                let defined = try await hub.send(
                    "POST", "/open/datasets", headers: [("Content-Type", "application/json")],
                    body: Array(
                        #"{"title":"高血压患者数","description":"","classification":"public","subject":"conditions","form":"aggregate","dimensions":["district","diagnosis-chapter"]}"#
                            .utf8), bearer: second)
                let id = try #require(try JSONSerialization.jsonObject(with: Data(defined.body)) as? [String: Any])["id"] as? String ?? ""
                let regulator = [
                    "--server", hub.url, "--ca", pki.caCertificate, "--cert", pki.regulator.clientCertificate, "--key", pki.regulator.clientKey,
                ]
                let anyone = ["--server", hub.url, "--ca", pki.caCertificate]
                #expect(try await TestProcess.run("hubctl", ["open", "list"] + anyone).status == 4, "no credentials: denied")
                let approved = try await TestProcess.run("hubctl", ["open", "approve", id] + regulator)
                #expect(approved.status == 0, "\(approved.standardError)")

                var computed = false
                let deadline = ContinuousClock.now + .seconds(90)
                while !computed, ContinuousClock.now < deadline {
                    let listed = try await TestProcess.run("hubctl", ["open", "list", "--json"] + regulator)
                    let datasets = (try? JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8))) as? [[String: Any]] ?? []
                    computed = datasets.contains { ($0["releases"] as? [Any])?.count == 1 && $0["releasePending"] as? Bool == false }
                    if !computed { try await Task.sleep(for: .milliseconds(300)) }
                }
                #expect(computed)
                let review = try await TestProcess.run("hubctl", ["open", "review", id, "1"] + regulator)
                #expect(
                    review.status == 0 && review.standardOutput.contains("IX I00-I99") && review.standardOutput.contains("12"),
                    "\(review.standardOutput)")
                #expect(review.standardOutput.contains("<10"), "suppressed cells show as below k")
                #expect(try await TestProcess.run("hubctl", ["open", "publish", id, "1"] + regulator).status == 0)

                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("open-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let catalog = try await TestProcess.run("hubctl", ["open", "catalog"] + anyone)
                #expect(catalog.status == 0 && catalog.standardOutput.contains(id))
                #expect(try await TestProcess.run("hubctl", ["audit", "keys", "-o", "\(directory)/keys.json"] + anyone).status == 0)
                let file = "\(directory)/release.csv"
                let download = try await TestProcess.run("hubctl", ["open", "download", id, "1", "--format", "csv", "-o", file] + anyone)
                #expect(download.status == 0, "\(download.standardError)")
                let verified = try await TestProcess.run("hubctl", ["open", "verify", file, "--keys", "\(directory)/keys.json"])
                #expect(verified.status == 0, "\(verified.standardError)")
                #expect(verified.standardOutput.contains("dataset=\(id); release=1; classification=public"))
                let asPublic = try await TestProcess.run(
                    "hubctl",
                    ["open", "verify", file, "--keys", "\(directory)/keys.json", "--dataset", id, "--release", "1", "--classification", "public"])
                #expect(asPublic.status == 0, "\(asPublic.standardError)")
                let asInternal = try await TestProcess.run(
                    "hubctl", ["open", "verify", file, "--keys", "\(directory)/keys.json", "--classification", "internal"])
                #expect(asInternal.status == 1 && asInternal.standardError.contains("classification public, not internal"))
                let text = try String(contentsOfFile: file, encoding: .utf8)
                try text.replacingOccurrences(of: ",12\r\n", with: ",21\r\n").write(toFile: file, atomically: true, encoding: .utf8)
                let refused = try await TestProcess.run("hubctl", ["open", "verify", file, "--keys", "\(directory)/keys.json"])
                #expect(refused.status == 1 && refused.standardError.contains("NOT verified"))
            }
        }
    }
}
