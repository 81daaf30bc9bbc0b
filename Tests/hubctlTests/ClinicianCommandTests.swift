import Foundation
import HubAccess
import HubAudit
import HubClient
import HubConfig
import HubCrypto
import HubTestSupport
import Testing

/// `hubctl` as clinicians use it (issue #7), against a live hub: log in to named profiles, find
/// and show a patient, read the case history and the labs, work the referral inbox — with
/// `--json` shapes, tables, and the documented exit codes.
@Suite struct ClinicianCommandTests {
    static let json = [("Content-Type", "application/fhir+json")]

    /// Runs hubctl; returns (status, standard output, standard error).
    static func hubctl(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        let output = try await TestProcess.run("hubctl", arguments, environment: ["NO_COLOR": "1"])
        return (output.status, output.standardOutput, output.standardError)
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test func aClinicianLooksUpAPatientAndWorksTheReferralInbox() async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let pki = hub.pki
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hubctl-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                // Both hospitals' clinicians get a signing key.
                var keys: [String: String] = [:]
                for clinician in [TestHub.Identities.clinician, TestHub.Identities.otherClinician] {
                    let key = try CryptoSuite.sm().signature.generateSigningKey()
                    let file = "\(folder)/\(clinician).key"
                    _ = FileManager.default.createFile(
                        atPath: file, contents: Data(try key.pemRepresentation().utf8), attributes: [.posixPermissions: 0o600])
                    _ = try await hub.directory.update(
                        principal: clinician, .init(publicKey: key.verifyingKey.pemRepresentation),
                        audit: AuditContext(caller: Caller(user: "test"), interaction: "admin")
                    )
                    keys[clinician] = file
                }

                // Hospital A's system records a patient with an encounter, a result and a discharge summary.
                var people = SyntheticPatients(seed: 201)
                let person = people.person()
                let created = try await hub.send(
                    "POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(person).utf8), presenting: pki)
                let patient = try #require(try JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any])["id"] as! String
                let mrn = try #require(String(decoding: created.body, as: UTF8.self).firstMatch(of: /"value":"(MRN[0-9]+)"/)).1
                for body in [
                    people.encounterJSON(patient: "Patient/\(patient)", day: "2026-11-20", organization: "Organization/test-hospital"),
                    #"{"resourceType":"Condition","subject":{"reference":"Patient/\#(patient)"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I20.0","display":"不稳定型心绞痛"}]},"onsetDateTime":"2026-11-20T18:00:00+08:00"}"#,
                ] {
                    let type = body.contains("\"Encounter\"") ? "Encounter" : "Condition"
                    #expect(try await hub.send("POST", "/fhir/\(type)", headers: Self.json, body: Array(body.utf8), presenting: pki).status == 201)
                }
                let observation = try await hub.send(
                    "POST", "/fhir/Observation", headers: Self.json,
                    body: Array(
                        people.observationJSON(
                            test: LabTest.common[0], patient: "Patient/\(patient)", day: "2026-11-28", performer: "Organization/test-hospital"
                        ).utf8), presenting: pki
                )
                let result = try #require(try JSONSerialization.jsonObject(with: Data(observation.body)) as? [String: Any])["id"] as! String
                let cda = SyntheticPatients.dischargeSummaryCDA(person, day: "2026-11-27")
                let document =
                    #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/hl7-cda+xml","data":"\#(Data(cda.utf8).base64EncodedString())"}}]}"#
                #expect(
                    try await hub.send("POST", "/fhir/DocumentReference", headers: Self.json, body: Array(document.utf8), presenting: pki).status
                        == 201)

                // Two named profiles: A's clinician and B's.
                let config = ["--config-dir", "\(folder)/config"]
                for (profile, clinician) in [("a", TestHub.Identities.clinician), ("b", TestHub.Identities.otherClinician)] {
                    let login = try await Self.hubctl(
                        [
                            "login", "--profile", profile, "--server", hub.url, "--ca", pki.caCertificate, "--principal", clinician, "--signing-key",
                            keys[clinician]!,
                        ] + config
                    )
                    #expect(login.status == 0, "\(login.err)")
                }
                let a = config + ["--profile", "a"]
                let b = config + ["--profile", "b"]
                let whoami = try await Self.hubctl(["whoami"] + a)
                #expect(whoami.out.hasPrefix("test-clinician (clinician) of test-hospital"), "\(whoami.out) \(whoami.err)")

                // patient find: by resident ID (JSON and table), by MRN, by name and birth date.
                let found = try await Self.hubctl(["patient", "find", "--resident-id", person.residentID, "--json"] + a)
                #expect(found.status == 0, "\(found.err)")
                let patients = try #require(try Self.object(found.out)["patients"] as? [[String: Any]])
                #expect(patients.count == 1)
                #expect(patients.first?["id"] as? String == patient)
                #expect(patients.first?["name"] as? String == person.family + person.given)
                #expect(((patients.first?["identifiers"] as? [[String: Any]]) ?? []).contains { $0["value"] as? String == person.residentID })
                let table = try await Self.hubctl(["patient", "find", "--resident-id", person.residentID] + a)
                #expect(table.out.contains(person.family + person.given))
                #expect(!table.out.contains(person.residentID), "the table masks the resident ID")
                #expect(!table.out.contains("\u{1B}["), "no colour off a terminal")
                let byMRN = try await Self.hubctl(["patient", "find", "--mrn", String(mrn), "--json"] + a)
                #expect((try Self.object(byMRN.out)["patients"] as? [Any])?.count == 1, "\(byMRN.err)")
                let byName = try await Self.hubctl(
                    ["patient", "find", "--name", person.family + person.given, "--birth-date", person.birthDate, "--json"] + a)
                #expect((try Self.object(byName.out)["patients"] as? [Any])?.count == 1, "\(byName.err)")
                // Exit codes: 3 not found, 2 usage.
                var stranger = SyntheticPatients(seed: 9_999)
                #expect(try await Self.hubctl(["patient", "find", "--resident-id", stranger.person().residentID] + a).status == 3)
                #expect(try await Self.hubctl(["patient", "find"] + a).status == 2)
                #expect(try await Self.hubctl(["patient", "show", "no-such-patient"] + a).status == 3)
                let shown = try Self.object(try await Self.hubctl(["patient", "show", patient, "--json"] + a).out)
                #expect(shown["birthDate"] as? String == person.birthDate)

                // The case history, in time order, and the labs.
                let history = try Self.object(try await Self.hubctl(["history", patient, "--json"] + a).out)
                let entries = try #require(history["entries"] as? [[String: Any]])
                #expect(entries.compactMap { $0["kind"] as? String } == ["encounter", "diagnosis", "document"], "\(entries)")
                #expect(entries.compactMap { $0["date"] as? String } == entries.compactMap { $0["date"] as? String }.sorted())
                #expect(entries.last?["summary"] as? String == "出院小结")
                let labs = try Self.object(try await Self.hubctl(["labs", patient, "--json"] + a).out)
                let results = try #require(labs["results"] as? [[String: Any]])
                #expect(results.count == 1)
                #expect(results.first?["code"] as? String == "2345-7")
                #expect(results.first?["unit"] as? String == "mmol/L")
                #expect(results.first?["performer"] as? String == "Organization/test-hospital")
                #expect(results.first?["referenceRange"] as? String == "3.9-6.1")
                let labTable = try await Self.hubctl(["labs", patient] + a)
                #expect(labTable.out.contains("葡萄糖"))

                // B cannot see the patient yet; A refers them to B; B sees the referral, accepts it, then reads.
                #expect(try await Self.hubctl(["patient", "show", patient] + b).status == 3)
                let referral = SyntheticPatients.referralBundle(
                    patient: patient, supporting: result, from: "Organization/test-hospital", to: "Organization/other-hospital")
                #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: Array(referral.utf8), presenting: pki).status == 200)
                let inbox = try Self.object(try await Self.hubctl(["referrals", "--json"] + b).out)
                let referrals = try #require(inbox["referrals"] as? [[String: Any]])
                #expect(referrals.count == 1)
                #expect(referrals.first?["status"] as? String == "requested")
                #expect(referrals.first?["reason"] as? String == "胸痛待查，转上级医院进一步诊治")
                #expect(referrals.first?["priority"] as? String == "urgent")
                let task = try #require((referrals.first?["task"] as? String)?.split(separator: "/").last.map(String.init))
                // Only the addressee accepts: A is denied (exit 4).
                #expect(try await Self.hubctl(["referrals", "accept", task] + a).status == 4)
                let accepted = try await Self.hubctl(["referrals", "accept", task] + b)
                #expect(accepted.status == 0, "\(accepted.err)")
                #expect(try await Self.hubctl(["patient", "show", patient] + b).status == 0)
                let outgoing = try Self.object(try await Self.hubctl(["referrals", "--outgoing", "--json"] + a).out)
                #expect((outgoing["referrals"] as? [[String: Any]])?.first?["status"] as? String == "accepted")
                #expect(try await Self.hubctl(["referrals", "complete", task] + b).status == 0)

                // Appointments: B's system publishes a slot; A's clinician books it; it is on B's day list; A cancels.
                let slotBundle =
                    #"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5d1b0c1e-0000-4000-8000-0000000000b1","resource":{"resourceType":"Schedule","active":true,"actor":[{"display":"心内科 王医生"}]},"request":{"method":"POST","url":"Schedule"}},{"resource":{"resourceType":"Slot","schedule":{"reference":"urn:uuid:5d1b0c1e-0000-4000-8000-0000000000b1"},"serviceType":[{"text":"心内科"}],"status":"free","start":"2026-12-10T09:00:00+08:00","end":"2026-12-10T09:15:00+08:00"},"request":{"method":"POST","url":"Slot"}}]}"#
                let published = try await hub.send("POST", "/fhir", headers: Self.json, body: Array(slotBundle.utf8), presenting: pki.otherHospital)
                let slot = try #require(String(decoding: published.body, as: UTF8.self).firstMatch(of: /"location":"Slot\/([0-9a-f-]+)/)).1
                let booked = try await Self.hubctl(["appointments", "book", "--slot", String(slot), "--patient", patient, "--json"] + a)
                #expect(booked.status == 0, "\(booked.err)")
                let appointment = try #require(try Self.object(booked.out)["id"] as? String)
                #expect(
                    try await Self.hubctl(["appointments", "book", "--slot", String(slot), "--patient", patient] + a).status == 1,
                    "a taken slot cannot be booked again")
                let dayList = try Self.object(try await Self.hubctl(["appointments", "--day", "2026-12-10", "--json"] + b).out)
                #expect(((dayList["appointments"] as? [[String: Any]]) ?? []).map { $0["id"] as? String } == [appointment])
                let mine = try Self.object(try await Self.hubctl(["appointments", "--patient", patient, "--json"] + a).out)
                #expect(((mine["appointments"] as? [[String: Any]]) ?? []).first?["status"] as? String == "booked")
                #expect(try await Self.hubctl(["appointments", "cancel", appointment, "--reason", "患者改期"] + a).status == 0)
                let after = try Self.object(try await Self.hubctl(["appointments", "--patient", patient, "--json"] + a).out)
                #expect(((after["appointments"] as? [[String: Any]]) ?? []).first?["status"] as? String == "cancelled")

                // Break-glass asks first: without a terminal and without --yes it is a usage error.
                var other = SyntheticPatients(seed: 202)
                let unrelated =
                    try #require(
                        try JSONSerialization.jsonObject(
                            with: Data(
                                try await hub.send(
                                    "POST", "/fhir/Patient", headers: Self.json, body: Array(other.patientJSON().utf8), presenting: pki.thirdHospital
                                ).body)) as? [String: Any])["id"] as! String
                #expect(try await Self.hubctl(["patient", "show", unrelated] + b).status == 3)
                #expect(try await Self.hubctl(["break-glass", "--patient", unrelated, "--reason", "患者昏迷送急诊，需查看既往史"] + b).status == 2)
                let emergency = try await Self.hubctl(["break-glass", "--patient", unrelated, "--reason", "患者昏迷送急诊，需查看既往史", "--yes"] + b)
                #expect(emergency.status == 0, "\(emergency.err)")
                #expect(try await Self.hubctl(["patient", "show", unrelated] + b).status == 0)

                // Denied shows as denied: a regulator's certificate on the clinical API, and no login at all.
                let regulator = [
                    "--server", hub.url, "--ca", pki.caCertificate, "--cert", pki.regulator.clientCertificate, "--key", pki.regulator.clientKey,
                    "--config-dir", "\(folder)/none",
                ]
                let denied = try await Self.hubctl(["patient", "show", patient] + regulator)
                #expect(denied.status == 4)
                #expect(denied.err.hasPrefix("hubctl: denied:"), "\(denied.err)")
                let anonymous = try await Self.hubctl([
                    "patient", "show", patient, "--server", hub.url, "--ca", pki.caCertificate, "--config-dir", "\(folder)/none",
                ])
                #expect(anonymous.status == 4)
                #expect(anonymous.err.contains("hubctl login"))
                #expect(try await Self.hubctl(["--generate-completion-script", "bash"]).out.contains("hubctl"))
            }
        }
    }
}
