import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// De-identified open data over HTTPS: a regulator's dataset through approval, computation,
/// review and publication; the public catalog without credentials; the release verified by an
/// independent verifier; and the refusals along the way.
@Suite struct OpenDataTests {
    static let json = [("Content-Type", "application/json")]
    /// The address index's stride in `SyntheticPatients.person(number:)`.
    static let district = 500 * 80 * 12 * 28

    /// A patient of `caller`'s hospital (synthetic person `number`) with one diagnosis on `day`;
    /// returns the patient's id and the person.
    static func patient(
        _ hub: RunningHub, number: Int, diagnosis: (String, String), day: String, presenting caller: TestPKI
    ) async throws -> (String, SyntheticPatients.Person) {
        var synthetic = SyntheticPatients(seed: UInt64(number + 1))
        let person = synthetic.person(number: number)
        let fhir = [("Content-Type", "application/fhir+json")]
        let created = try await hub.send(
            "POST", "/fhir/Patient", headers: fhir, body: Array(synthetic.patientJSON(person, home: true).utf8), presenting: caller)
        guard created.status == 201, let id = try jsonObject(created)["id"] as? String else {
            throw TestFailure(description: "the patient was not created: \(created.status) \(created.text)")
        }
        let condition = synthetic.conditionJSON(patient: "Patient/\(id)", code: diagnosis.0, display: diagnosis.1, day: day)
        let diagnosed = try await hub.send("POST", "/fhir/Condition", headers: fhir, body: Array(condition.utf8), presenting: caller)
        guard diagnosed.status == 201 else { throw TestFailure(description: "the diagnosis was not created: \(diagnosed.text)") }
        return (id, person)
    }

    /// Adds a second regulator of the commission and returns its token.
    static func secondRegulator(_ hub: RunningHub) async throws -> String {
        let admin = try await hub.token(for: TestHub.Identities.administrator)
        let added = try await hub.send(
            "POST", "/admin/principals", headers: Self.json,
            body: Array(#"{"id":"second-regulator","role":"regulator","organization":"health-commission","name":"钱监管员"}"#.utf8), bearer: admin)
        guard added.status == 201 else { throw TestFailure(description: "no second regulator: \(added.text)") }
        return try await hub.token(for: "second-regulator")
    }

    /// Waits (bounded) until the dataset has `count` releases; returns the dataset.
    static func releases(_ hub: RunningHub, _ id: String, count: Int, presenting regulator: TestPKI) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(90)
        var dataset: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            dataset = try jsonObject(try await hub.send("GET", "/open/datasets/\(id)", presenting: regulator))
            if (dataset["releases"] as? [[String: Any]])?.count == count, dataset["releasePending"] as? Bool == false { return dataset }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure(description: "no release computed: \(dataset)")
    }

    @Test func aDatasetIsDefinedApprovedComputedPublishedAndVerifiedOffline() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.openData.pollMilliseconds = 200
            // The small cell must show as suppressed, not be generalized away.
            $0.openData.maximumSuppressionPercent = 50
        }) { hub in
            // Twelve hypertensive patients of one hospital in Chaoyang, and a thirteenth whose
            // Consent denies sharing with everyone; three lung-cancer patients of another in Nanshan.
            var people: [(String, SyntheticPatients.Person)] = []
            for number in 0..<13 {
                people.append(
                    try await Self.patient(hub, number: number, diagnosis: ("I10", "原发性高血压"), day: "2026-03-1\(number % 10)", presenting: pki))
            }
            for number in 0..<3 {
                people.append(
                    try await Self.patient(
                        hub, number: 2 * Self.district + number, diagnosis: ("C34.9", "肺恶性肿瘤"), day: "2026-04-02", presenting: pki.otherHospital))
            }
            let denying = people[12].0
            let consent = try await hub.send(
                "POST", "/fhir/Consent", headers: [("Content-Type", "application/fhir+json")],
                body: Array(AuthorizationMatrixTests.consent(patient: denying, provision: #"{"type":"deny"}"#).utf8), presenting: pki)
            #expect(consent.status == 201, "\(consent.text)")

            let definition = Array(
                #"""
                {"title":"确诊患者数, 按区和疾病章","description":"2026年确诊病例, 按常住区和ICD-10章统计","classification":"public",
                 "subject":"conditions","form":"aggregate","dimensions":["district","diagnosis-chapter"],"from":"2026-01","to":"2026-12"}
                """#.utf8)
            // Deny by default: no credentials, a hospital's system, a bad definition.
            #expect(try await hub.send("POST", "/open/datasets", headers: Self.json, body: definition).status == 401)
            #expect(try await hub.send("POST", "/open/datasets", headers: Self.json, body: definition, presenting: pki).status == 403)
            #expect(try await hub.send("GET", "/open/datasets", presenting: pki).status == 403)
            let bad = try await hub.send(
                "POST", "/open/datasets", headers: Self.json,
                body: Array(
                    #"{"title":"x","description":"","classification":"public","subject":"patients","form":"aggregate","dimensions":["lab-test"],"k":2}"#
                        .utf8),
                presenting: pki.regulator)
            #expect(bad.status == 400 && bad.text.contains("lab-test does not describe patients"), "\(bad.text)")

            let defined = try await hub.send("POST", "/open/datasets", headers: Self.json, body: definition, presenting: pki.regulator)
            #expect(defined.status == 201, "\(defined.text)")
            let id = try #require(try jsonObject(defined)["id"] as? String)
            #expect(try jsonObject(defined)["state"] as? String == "proposed")
            // Nobody approves their own dataset; a second regulator does.
            #expect(try await hub.send("POST", "/open/datasets/\(id)/approve", presenting: pki.regulator).status == 403)
            let second = try await Self.secondRegulator(hub)
            let approved = try await hub.send("POST", "/open/datasets/\(id)/approve", bearer: second)
            #expect(approved.status == 200, "\(approved.text)")

            let dataset = try await Self.releases(hub, id, count: 1, presenting: pki.regulator)
            #expect((dataset["releases"] as? [[String: Any]])?.first?["publishedAt"] == nil)
            // Computed, not published: the catalog knows nothing of it yet.
            #expect(try await hub.send("GET", "/open/catalog/\(id)/1.json").status == 404)
            #expect((try jsonObject(try await hub.send("GET", "/open/catalog"))["datasets"] as? [Any])?.isEmpty == true)
            let review = try jsonObject(try await hub.send("GET", "/open/datasets/\(id)/releases/1", presenting: pki.regulator))
            let rows = try #require(review["rows"] as? [[Any]])
            // Every chapter of every place named (at least k patients there) and of "other".
            #expect(rows.count == 2 * 23, "\(rows)")
            let counted = rows.filter { !($0.last is NSNull) }.map { $0.compactMap { $0 as? String } }
            #expect(counted == [["北京市/北京市/朝阳区", "IX I00-I99", "12"]], "the denying patient is not counted")
            // Three patients in Nanshan: the place is not named, their cell is suppressed like an empty one.
            #expect(!review.description.contains("南山区"))
            #expect(rows.contains { $0.compactMap { $0 as? String } == ["other", "II C00-D48"] && $0.last is NSNull })
            #expect(rows.contains { $0.compactMap { $0 as? String } == ["other", "X J00-J99"] && $0.last is NSNull })

            let published = try await hub.send("POST", "/open/datasets/\(id)/releases/1/publish", bearer: second)
            #expect(published.status == 200, "\(published.text)")
            #expect(try await hub.send("POST", "/open/datasets/\(id)/releases/1/publish", presenting: pki.regulator).status == 409)
            #expect(try await hub.send("POST", "/open/datasets/\(id)/releases/2/publish", presenting: pki.regulator).status == 404)

            // The public catalog, without credentials.
            let catalog = try jsonObject(try await hub.send("GET", "/open/catalog"))
            let entry = try #require((catalog["datasets"] as? [[String: Any]])?.first)
            #expect(entry["id"] as? String == id && entry["classification"] as? String == "public")
            let distributions = try #require((entry["releases"] as? [[String: Any]])?.first?["distributions"] as? [[String: Any]])
            #expect(distributions.count == 2)

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("open-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(try await hub.send("GET", "/.well-known/hub-keys").body).write(to: URL(fileURLWithPath: "\(directory)/keys.json"))
            for (format, mediaType) in [("json", "application/json"), ("csv", "text/csv")] {
                let file = try await hub.send("GET", "/open/catalog/\(id)/1.\(format)")
                #expect(file.status == 200)
                #expect(file.header("content-type")?.hasPrefix(mediaType) == true)
                let signature = try #require(file.header("hub-signature"))
                let subject = try #require(file.header("hub-signature-subject"))
                #expect(subject == "dataset=\(id); release=1; classification=public")
                let sig = try await hub.send("GET", "/open/catalog/\(id)/1.\(format).sig").text
                #expect(sig == subject + "\n" + signature + "\n")
                // Nothing that names or singles out a patient.
                let text = file.text
                for (patientID, person) in people {
                    for identifying in [patientID, person.residentID, person.family + person.given, person.birthDate] {
                        #expect(!text.contains(identifying), "\(format) holds \(identifying)")
                    }
                }
                // An independent verifier accepts the exact bytes and refuses a changed one.
                let path = "\(directory)/release.\(format)"
                try Data(file.body).write(to: URL(fileURLWithPath: path))
                try Data(sig.utf8).write(to: URL(fileURLWithPath: path + ".sig"))
                func verify() async throws -> Bool {
                    let output = try await TestPeer.run(
                        "segment_verifier.py",
                        ["--detached", "health-hub open data release v1", mediaType, path, path + ".sig", "\(directory)/keys.json"])
                    #expect(output.status == 0, "\(output.standardError)")
                    return (try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])?["verified"] as? Bool == true
                }
                #expect(try await verify())
                // Passed off as another grade or release, the same bytes do not verify.
                try Data(sig.replacingOccurrences(of: "classification=public", with: "classification=internal").utf8).write(
                    to: URL(fileURLWithPath: path + ".sig"))
                #expect(try await verify() == false)
                try Data(sig.utf8).write(to: URL(fileURLWithPath: path + ".sig"))
                try Data(file.text.replacingOccurrences(of: "12", with: "13").utf8).write(to: URL(fileURLWithPath: path))
                #expect(try await verify() == false)
            }
            // A hospital reads it over the authenticated API too; unknown names are 404.
            #expect(try await hub.send("GET", "/open/published/\(id)/1.csv", presenting: pki).status == 200)
            for missing in [
                "/open/catalog/\(id)/2.json", "/open/catalog/\(id)/1.xml", "/open/catalog/\(id)/0.json", "/open/catalog/not-a-uuid/1.json",
            ] {
                #expect(try await hub.send("GET", missing).status == 404, "\(missing)")
            }

            // Withdrawn: out of the catalog, no longer served.
            #expect(try await hub.send("DELETE", "/open/datasets/\(id)", presenting: pki).status == 403)
            #expect(try await hub.send("DELETE", "/open/datasets/\(id)", presenting: pki.regulator).status == 204)
            #expect(try await hub.send("GET", "/open/catalog/\(id)/1.json").status == 404)
            #expect((try jsonObject(try await hub.send("GET", "/open/catalog"))["datasets"] as? [Any])?.isEmpty == true)
            #expect(try await hub.send("POST", "/open/datasets/\(id)/releases", presenting: pki.regulator).status == 409)
        }
    }

    /// 分级: a restricted release goes to the hub's principals only, an internal one to
    /// regulators only; neither is in the public catalog. An extract counts patients, not rows.
    @Test func restrictedAndInternalReleasesGoOnlyWhereTheirGradeAllows() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.openData.pollMilliseconds = 200
            $0.openData.minimumK = 5
        }) { hub in
            for number in 0..<6 {
                _ = try await Self.patient(hub, number: number, diagnosis: ("E11.9", "2型糖尿病"), day: "2026-05-0\(number + 1)", presenting: pki)
            }
            let second = try await Self.secondRegulator(hub)
            var ids: [String: String] = [:]
            for grade in ["restricted", "internal"] {
                let body = Array(
                    #"{"title":"糖尿病患者 \#(grade)","description":"","classification":"\#(grade)","subject":"conditions","form":"extract","dimensions":["district","diagnosis-chapter"],"k":6}"#
                        .utf8)
                let defined = try await hub.send("POST", "/open/datasets", headers: Self.json, body: body, bearer: second)
                #expect(defined.status == 201, "\(defined.text)")
                let id = try #require(try jsonObject(defined)["id"] as? String)
                #expect(try await hub.send("POST", "/open/datasets/\(id)/approve", presenting: pki.regulator).status == 200)
                _ = try await Self.releases(hub, id, count: 1, presenting: pki.regulator)
                #expect(try await hub.send("POST", "/open/datasets/\(id)/releases/1/publish", presenting: pki.regulator).status == 200)
                ids[grade] = id
            }
            let restricted = try #require(ids["restricted"])
            let internalID = try #require(ids["internal"])
            // Six patients, one row each, in one class of six: k = 6 holds.
            let rows = try #require(
                try jsonObject(try await hub.send("GET", "/open/published/\(restricted)/1.json", presenting: pki))["rows"] as? [[String]])
            #expect(rows == Array(repeating: ["北京市/北京市/朝阳区", "IV E00-E90"], count: 6))
            #expect((try jsonObject(try await hub.send("GET", "/open/catalog"))["datasets"] as? [Any])?.isEmpty == true)
            for id in [restricted, internalID] {
                #expect(try await hub.send("GET", "/open/catalog/\(id)/1.json").status == 404)
                #expect(try await hub.send("GET", "/open/published/\(id)/1.json").status == 401)
            }
            #expect(try await hub.send("GET", "/open/published/\(internalID)/1.json", presenting: pki).status == 404)
            #expect(try await hub.send("GET", "/open/published/\(internalID)/1.json", presenting: pki.regulator).status == 200)
            // A regulator registered at a hospital, not at the commission, manages nothing and reads
            // no internal release (the role alone is not enough).
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let stray = try await hub.send(
                "POST", "/admin/principals", headers: Self.json,
                body: Array(#"{"id":"hospital-regulator","role":"regulator","organization":"test-hospital","name":"孙监管员"}"#.utf8), bearer: admin)
            #expect(stray.status == 201, "\(stray.text)")
            let strayToken = try await hub.token(for: "hospital-regulator")
            #expect(try await hub.send("GET", "/open/datasets", bearer: strayToken).status == 403)
            #expect(try await hub.send("GET", "/open/datasets/\(internalID)/releases/1", bearer: strayToken).status == 403)
            #expect(try await hub.send("GET", "/open/published/\(internalID)/1.json", bearer: strayToken).status == 404)
            #expect(try await hub.send("GET", "/open/published/\(restricted)/1.json", bearer: strayToken).status == 200)
            // A seventh patient since: a new release holds them, the first stays as published.
            _ = try await Self.patient(hub, number: 40, diagnosis: ("I10", "原发性高血压"), day: "2026-06-01", presenting: pki)
            #expect(try await hub.send("POST", "/open/datasets/\(restricted)/releases", bearer: second).status == 202)
            _ = try await Self.releases(hub, restricted, count: 2, presenting: pki.regulator)
            #expect(try await hub.send("POST", "/open/datasets/\(restricted)/releases/2/publish", bearer: second).status == 200)
            let again = try #require(
                try jsonObject(try await hub.send("GET", "/open/published/\(restricted)/2.json", presenting: pki))["rows"] as? [[String]])
            #expect(again.count == 7 && again.contains(["北京市/北京市/朝阳区", "IX I00-I99"]))
            #expect(try jsonObject(try await hub.send("GET", "/open/published/\(restricted)/1.json", presenting: pki))["rows"] as? [[String]] == rows)
        }
    }
}
