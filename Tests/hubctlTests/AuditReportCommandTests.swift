import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// A regulator pulls a signed report of a period, opens it, and verifies it offline; tampering
/// with the report or with what it carries fails verification (issue #7).
@Suite struct AuditReportCommandTests {
    @Test func aRegulatorPullsAndVerifiesASignedReport() async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let pki = hub.pki
                var people = SyntheticPatients(seed: 301)
                let created = try await hub.send(
                    "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON().utf8),
                    presenting: pki)
                let patient = try #require(try JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any])["id"] as! String
                for _ in 0..<3 { #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: pki).status == 200) }
                // Another hospital tries, and is not shown the patient; a regulator-only API refuses a hospital.
                #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: pki.otherHospital).status == 404)
                #expect(try await hub.send("GET", "/audit/checkpoint", presenting: pki).status == 403)

                // A read the access tables no longer explain: B is given a care relationship out of
                // band, reads, and the relationship is taken away again.
                try await TestDatabase.execute(
                    url,
                    "INSERT INTO care_relationships (patient_id, organization_id, basis) VALUES ('\(patient)', 'other-hospital', 'test:out-of-band')")
                #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: pki.otherHospital).status == 200)
                try await TestDatabase.execute(url, "DELETE FROM care_relationships WHERE basis = 'test:out-of-band'")

                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let server = [
                    "--server", hub.url, "--ca", pki.caCertificate, "--cert", pki.regulator.clientCertificate, "--key", pki.regulator.clientKey,
                    "--config-dir", "\(folder)/config",
                ]
                let today = Date()
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyy-MM-dd"
                formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
                let from = formatter.string(from: today.addingTimeInterval(-86_400))
                let to = formatter.string(from: today.addingTimeInterval(86_400))
                let report = "\(folder)/report.json"
                let keys = "\(folder)/keys.json"
                #expect(try await TestProcess.run("hubctl", ["audit", "keys", "-o", keys] + server).status == 0)
                let pulled = try await TestProcess.run(
                    "hubctl",
                    ["audit", "report", "--from", from, "--to", to, "-o", report, "--html", "\(folder)/report.html", "--csv", "\(folder)/report.csv"]
                        + server)
                #expect(pulled.status == 0, "\(pulled.standardError)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
                let body = try #require(json["body"] as? [String: Any])
                let sections = try #require(body["sections"] as? [String: Any])
                let byOrganization = try #require(sections["byOrganization"] as? [[String: Any]])
                #expect((byOrganization.first { $0["key"] as? String == TestHub.Identities.hospital }?["reads"] as? Int ?? 0) >= 3)
                #expect(
                    ((sections["denied"] as? [[String: Any]]) ?? []).contains {
                        $0["organization"] as? String == TestHub.Identities.hospital && $0["status"] as? Int == 403
                    })
                let findings = try #require(body["readsWithoutRelationship"] as? [[String: Any]])
                #expect(findings.count == 1, "\(findings)")
                #expect(findings.first?["organization"] as? String == TestHub.Identities.otherHospital)
                #expect(findings.first?["patient"] as? String == patient)
                let html = try String(contentsOfFile: "\(folder)/report.html", encoding: .utf8)
                #expect(html.contains("Finding: reads that no care relationship"))
                #expect(html.hasPrefix("<!DOCTYPE html>"))
                #expect(html.contains("<svg"))
                #expect(!html.contains("<script"))
                #expect(try String(contentsOfFile: "\(folder)/report.csv", encoding: .utf8).hasPrefix("section,key,total"))
                // The page opens in headless Chromium without a console error; its screenshot is kept.
                let screenshot = try TestEnvironment.artifactsDirectory() + "/audit-report.png"
                try? FileManager.default.removeItem(atPath: screenshot)
                let browser = [
                    "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(folder)/chromium", "--enable-logging=stderr", "--v=0",
                    "--window-size=1280,2400",
                ]
                let shot = try await TestProcess.runTool("chromium", browser + ["--screenshot=\(screenshot)", "file://\(folder)/report.html"])
                #expect(shot.status == 0, "\(shot.standardError)")
                #expect(!shot.standardError.contains(":CONSOLE"), "\(shot.standardError)")
                let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)
                let dom = try await TestProcess.runTool("chromium", browser + ["--dump-dom", "file://\(folder)/report.html"])
                #expect(dom.standardOutput.contains("审计报告 Audit report"))
                #expect(dom.standardOutput.contains("<svg"))

                let checkpoint = try await TestProcess.run("hubctl", ["audit", "checkpoint", "--json"] + server)
                let head = try #require(try JSONSerialization.jsonObject(with: Data(checkpoint.standardOutput.utf8)) as? [String: Any])
                #expect((head["treeSize"] as? Int ?? 0) >= (body["start"] as? Int ?? 0) + (body["count"] as? Int ?? 0))
                let verified = try await TestProcess.run("hubctl", ["audit", "verify", report, "--keys", keys])
                #expect(verified.status == 0, "\(verified.standardError)")
                #expect(verified.standardOutput.hasPrefix("verified: the report is signed by the hub"))

                // The CSV and HTML forms are proved against the signed report they were rendered from.
                for (file, media) in [("report.csv", "text/csv"), ("report.html", "text/html")] {
                    let checked = try await TestProcess.run("hubctl", ["audit", "verify", "\(folder)/\(file)", "--report", report, "--keys", keys])
                    #expect(checked.status == 0, "\(file): \(checked.standardError)")
                    #expect(checked.standardOutput.hasPrefix("verified: the \(media) report is the rendering of a verified report"))
                }
                let csvText = try String(contentsOfFile: "\(folder)/report.csv", encoding: .utf8)
                #expect(csvText.contains("report,from,,,,,20") && csvText.contains("report,checkpoint,,,,,"))
                #expect(csvText.split(separator: "\r\n").contains { $0.hasPrefix("report,records,") })
                var csvBytes = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/report.csv"))
                csvBytes[csvBytes.count - 3] ^= 0x01
                try csvBytes.write(to: URL(fileURLWithPath: "\(folder)/altered.csv"))
                let alteredCSV = try await TestProcess.run(
                    "hubctl", ["audit", "verify", "\(folder)/altered.csv", "--report", report, "--keys", keys])
                #expect(alteredCSV.status == 1)
                #expect(alteredCSV.standardError.contains("NOT verified"), "\(alteredCSV.standardError)")

                // Downloaded from the hub, each carries the hub's detached signature over its exact bytes.
                for format in ["csv", "html"] {
                    let downloaded = try await hub.send("GET", "/audit/reports?from=\(from)&to=\(to)&format=\(format)", presenting: pki.regulator)
                    #expect(downloaded.status == 200)
                    let signature = try #require(downloaded.header("hub-signature"))
                    try Data(downloaded.body).write(to: URL(fileURLWithPath: "\(folder)/downloaded.\(format)"))
                    try Data(signature.utf8).write(to: URL(fileURLWithPath: "\(folder)/downloaded.\(format).sig"))
                    let checked = try await TestProcess.run("hubctl", ["audit", "verify", "\(folder)/downloaded.\(format)", "--keys", keys])
                    #expect(checked.status == 0, "\(format): \(checked.standardError)")
                    #expect(checked.standardOutput.contains("is exactly as the hub signed it"))
                    if format == "csv" {
                        #expect(checked.standardOutput.contains("; records "))
                    }
                }
                var downloadedCSV = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/downloaded.csv"))
                downloadedCSV[downloadedCSV.count - 3] ^= 0x01
                try downloadedCSV.write(to: URL(fileURLWithPath: "\(folder)/downloaded-altered.csv"))
                let alteredDownload = try await TestProcess.run(
                    "hubctl", ["audit", "verify", "\(folder)/downloaded-altered.csv", "--signature", "\(folder)/downloaded.csv.sig", "--keys", keys])
                #expect(alteredDownload.status == 1)
                try FileManager.default.copyItem(atPath: "\(folder)/downloaded.html", toPath: "\(folder)/renamed.csv")
                let swapped = try await TestProcess.run(
                    "hubctl", ["audit", "verify", "\(folder)/renamed.csv", "--signature", "\(folder)/downloaded.html.sig", "--keys", keys])
                #expect(swapped.status == 1, "an HTML page's signature does not pass for a CSV file")

                // Tampering: a figure changed; a record changed; a record dropped.
                let original = try String(contentsOfFile: report, encoding: .utf8)
                func tampered(_ name: String, _ edit: (inout [String: Any]) -> Void) async throws -> (Int32, String) {
                    var document = try #require(try JSONSerialization.jsonObject(with: Data(original.utf8)) as? [String: Any])
                    edit(&document)
                    let path = "\(folder)/\(name).json"
                    try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
                    let result = try await TestProcess.run("hubctl", ["audit", "verify", path, "--keys", keys])
                    return (result.status, result.standardError)
                }
                let figure = try await tampered("figure") { document in
                    var body = document["body"] as! [String: Any]
                    var sections = body["sections"] as! [String: Any]
                    sections["total"] = (sections["total"] as! Int) - 1
                    body["sections"] = sections
                    document["body"] = body
                }
                #expect(figure.0 == 1)
                #expect(figure.1.contains("signature"), "\(figure.1)")
                let record = try await tampered("record") { document in
                    var segment = document["segment"] as! [String: Any]
                    var records = segment["records"] as! [String]
                    records[0] += " "
                    segment["records"] = records
                    document["segment"] = segment
                }
                #expect(record.0 == 1, "\(record.1)")
                let dropped = try await tampered("dropped") { document in
                    var segment = document["segment"] as! [String: Any]
                    segment["records"] = Array((segment["records"] as! [String]).dropLast())
                    document["segment"] = segment
                }
                #expect(dropped.0 == 1, "\(dropped.1)")
                // The period's records as AuditEvent NDJSON.
                let exported = try await TestProcess.run(
                    "hubctl", ["audit", "export", "--from", from, "--to", to, "-o", "\(folder)/events.ndjson"] + server)
                #expect(exported.status == 0, "\(exported.standardError)")
                let lines = try String(contentsOfFile: "\(folder)/events.ndjson", encoding: .utf8).split(separator: "\n")
                #expect(lines.count >= (sections["total"] as? Int ?? 0))
                let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
                #expect(events.allSatisfy { $0["resourceType"] as? String == "AuditEvent" })
                #expect(events.contains { ($0["outcome"] as? String) == "4" })

                // A row of the audit table changed in PostgreSQL (as its owner could): the next
                // report carries the changed record, and verification finds it.
                try await TestDatabase.tamperWithFirstAuditRead(url)
                let again = "\(folder)/again.json"
                #expect(try await TestProcess.run("hubctl", ["audit", "report", "--from", from, "--to", to, "-o", again] + server).status == 0)
                let altered = try await TestProcess.run("hubctl", ["audit", "verify", again, "--keys", keys])
                #expect(altered.status == 1, "\(altered.standardOutput)")
                #expect(altered.standardError.contains("NOT verified"))

                // Hospitals do not get reports.
                let hospital = try await TestProcess.run(
                    "hubctl",
                    [
                        "audit", "report", "--from", from, "--to", to, "-o", "\(folder)/no.json", "--server", hub.url, "--ca", pki.caCertificate,
                        "--cert", pki.clientCertificate, "--key", pki.clientKey, "--config-dir", "\(folder)/config",
                    ])
                #expect(hospital.status == 4)
            }
        }
    }
}
