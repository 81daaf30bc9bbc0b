import Foundation
import HubClient
import HubConfig
import HubFHIR
import HubSynthetic
import HubTestSupport
import Testing

/// FHIR Bulk Data `$export` over HTTPS: an independent client's whole flow, what a hospital may
/// and may not export, and the refusals an attacker hospital meets.
@Suite struct BulkExportTests {
    static let async = [("Prefer", "respond-async"), ("Accept", "application/fhir+json")]

    /// A patient of `caller`'s hospital with one result per test; returns the ids.
    static func patient(_ hub: RunningHub, seed: UInt64, tests: [LabTest], presenting caller: TestPKI) async throws -> (String, [String]) {
        let patient = try await createPatient(hub, seed: seed, presenting: caller)
        var synthetic = SyntheticPatients(seed: seed)
        var observations: [String] = []
        for test in tests {
            let body = synthetic.observationJSON(test: test, patient: "Patient/\(patient)", day: "2026-11-2\(observations.count)")
            let reply = try await hub.send(
                "POST", "/fhir/Observation", headers: [("Content-Type", "application/fhir+json")], body: Array(body.utf8), presenting: caller)
            guard reply.status == 201, let id = try jsonObject(reply)["id"] as? String else {
                throw TestFailure(description: "the result was not created: \(reply.status) \(reply.text)")
            }
            observations.append(id)
        }
        return (patient, observations)
    }

    /// Kicks off `path`, polls until the manifest (bounded), downloads every file, deletes the
    /// job; returns the manifest and each type's ids.
    static func export(
        _ hub: RunningHub, _ path: String, presenting caller: TestPKI? = nil, bearer: String? = nil,
        beforeDeleting: @Sendable ([String: String]) async throws -> Void = { _ in }
    ) async throws -> ([String: Any], [String: [String]]) {
        let kickOff = try await hub.send("GET", path, headers: Self.async, presenting: caller, bearer: bearer)
        guard kickOff.status == 202, let status = kickOff.header("Content-Location") else {
            throw TestFailure(description: "kick-off answered \(kickOff.status): \(kickOff.text)")
        }
        let statusPath = String(status[status.range(of: "/fhir/")!.lowerBound...])
        var manifest: [String: Any]?
        // A job waits three database deadlines and a second after its kick-off, and for the
        // transactions open then in the whole cluster — other tests' too — at most a minute.
        let deadline = ContinuousClock.now + .seconds(240)
        while manifest == nil, ContinuousClock.now < deadline {
            let reply = try await hub.send("GET", statusPath, presenting: caller, bearer: bearer)
            if reply.status == 202 {
                #expect(reply.header("X-Progress") != nil)
                #expect(reply.header("Retry-After") != nil)
                try await Task.sleep(for: .seconds(1))
                continue
            }
            #expect(reply.status == 200, "\(reply.text)")
            manifest = try jsonObject(reply)
        }
        let found = try #require(manifest)
        var ids: [String: [String]] = [:]
        var files: [String: String] = [:]
        for output in found["output"] as? [[String: Any]] ?? [] {
            let url = try #require(output["url"] as? String)
            files[output["type"] as? String ?? ""] = String(url[url.range(of: "/fhir/")!.lowerBound...])
            let reply = try await hub.send("GET", String(url[url.range(of: "/fhir/")!.lowerBound...]), presenting: caller, bearer: bearer)
            #expect(reply.status == 200)
            let lines = reply.text.split(separator: "\n")
            #expect(lines.count == output["count"] as? Int)
            for line in lines {
                let resource = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(resource["resourceType"] as? String == output["type"] as? String)
                ids[output["type"] as? String ?? "", default: []].append(resource["id"] as? String ?? "")
            }
        }
        try await beforeDeleting(files)
        #expect(try await hub.send("DELETE", statusPath, presenting: caller, bearer: bearer).status == 202)
        return (found, ids)
    }

    @Test func anIndependentClientExportsWhatItsHospitalMaySee() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 500
        }) { hub in
            var patients: [String] = []
            var observations: [String] = []
            for seed in UInt64(300)..<303 {
                let (patient, results) = try await Self.patient(hub, seed: seed, tests: Array(LabTest.common.prefix(2)), presenting: pki)
                patients.append(patient)
                observations += results
            }
            let (stranger, strangerResults) = try await Self.patient(hub, seed: 310, tests: [LabTest.common[0]], presenting: pki.otherHospital)

            let output = try await TestPeer.run(
                "bulk_export_client.py",
                [hub.url + "/fhir/$export?_type=Patient,Observation", pki.caCertificate, pki.clientCertificate, pki.clientKey])
            #expect(output.status == 0, "\(output.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
            let types = try #require(summary["types"] as? [String: [String]])
            #expect(types["Patient"]?.sorted() == patients.sorted())
            #expect(types["Observation"]?.sorted() == observations.sorted())
            #expect(!types.values.joined().contains(stranger) && !types.values.joined().contains(strangerResults[0]))
            #expect((summary["request"] as? String)?.hasSuffix("/fhir/$export?_type=Patient,Observation") == true)

            // Patient level, _typeFilter: the hemoglobin results, and those of a patient of the other
            // hospital's (none visible: but the attempt is in that patient's access history).
            let hemoglobin = "Observation%3Fcode%3Dhttp%3A%2F%2Floinc.org%7C\(LabTest.common[1].loinc)"
            let probe = "Observation%3Fsubject%3DPatient%2F\(stranger)"
            let narrow = try await hub.token(for: TestHub.Identities.system, scopes: ["system/Patient.read"])
            let (_, filtered) = try await Self.export(hub, "/fhir/Patient/$export?_typeFilter=\(hemoglobin),\(probe)", presenting: pki) { files in
                // A token of the same client whose scopes stop at Patient downloads no Observation.
                let observations = try #require(files["Observation"])
                #expect(try await hub.send("GET", observations, presenting: pki, bearer: narrow).status == 403)
                #expect(try await hub.send("GET", try #require(files["Patient"]), presenting: pki, bearer: narrow).status == 200)
            }
            #expect(filtered["Observation"]?.sorted() == observations.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).sorted())
            #expect(filtered["Patient"]?.sorted() == patients.sorted())
            #expect(filtered["Organization"] == nil && filtered["Practitioner"] == nil)

            // The other hospital exports its own patient and nothing of the first's.
            let (_, theirs) = try await Self.export(hub, "/fhir/$export?_type=Patient,Observation", presenting: pki.otherHospital)
            #expect(theirs["Patient"] == [stranger] && theirs["Observation"] == strangerResults)

            // The pages and downloads are in the audit trail under each patient, read by the
            // regulator; so is the probe, under the other hospital's patient.
            let first = patients[0]
            #expect(
                try await eventually(within: .seconds(30)) {
                    let events = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(first)", presenting: pki.regulator)
                    let probed = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(stranger)", presenting: pki.regulator)
                    return events.text.contains("\"export\"") && probed.text.contains(TestHub.Identities.system)
                })
        }
    }

    /// A hospital's cohort, `Group/[id]/$export`: the records of the members it may see, and of no
    /// one else; the Group is its own, and another hospital's Group naming its patients opens none.
    @Test func aGroupExportsItsMembersRecordsAndNoOneElses() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 500
        }) { hub in
            var patients: [String] = []
            var observations: [[String]] = []
            for seed in UInt64(350)..<354 {
                let (patient, results) = try await Self.patient(hub, seed: seed, tests: [LabTest.common[0]], presenting: pki)
                patients.append(patient)
                observations.append(results)
            }
            let (stranger, _) = try await Self.patient(hub, seed: 360, tests: [LabTest.common[0]], presenting: pki.otherHospital)
            func group(
                _ members: [(String, [String: Any])], actual: Bool = true, extra: [String: Any] = [:], presenting caller: TestPKI
            ) async throws -> String {
                var list: [[String: Any]] = []
                for (reference, extra) in members { list.append(["entity": ["reference": reference]].merging(extra) { $1 }) }
                var body: [String: Any] = ["resourceType": "Group", "type": "person", "actual": actual, "name": "糖尿病随访队列"]
                body.merge(extra) { $1 }
                if !list.isEmpty { body["member"] = list }
                let reply = try await hub.send(
                    "POST", "/fhir/Group", headers: [("Content-Type", "application/fhir+json")],
                    body: Array(try JSONSerialization.data(withJSONObject: body)), presenting: caller)
                guard reply.status == 201, let id = try jsonObject(reply)["id"] as? String else {
                    throw TestFailure(description: "the Group was not created: \(reply.status) \(reply.text)")
                }
                return id
            }
            // Members: two current patients (one listed twice), one inactive, one whose membership
            // ended, the other hospital's patient, and a practitioner; the fourth patient is not in it.
            let cohort = try await group(
                [
                    ("Patient/\(patients[0])", [:]), ("Patient/\(patients[1])", ["period": ["start": "2026-01-01"]]),
                    ("Patient/\(patients[0])", [:]), ("Patient/\(patients[2])", ["inactive": true]),
                    ("Patient/\(patients[3])", ["period": ["start": "2025-01-01", "end": "2025-12-31"]]),
                    ("Patient/\(stranger)", [:]), ("Practitioner/doctor-1", [:]),
                ], presenting: pki)

            // The independent client, every line parsed by fhir.resources.
            let output = try await TestPeer.run(
                "bulk_export_client.py",
                [hub.url + "/fhir/Group/\(cohort)/$export?_type=Patient,Observation", pki.caCertificate, pki.clientCertificate, pki.clientKey])
            #expect(output.status == 0, "\(output.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
            let types = try #require(summary["types"] as? [String: [String]])
            #expect(types["Patient"]?.sorted() == [patients[0], patients[1]].sorted())
            #expect(types["Observation"]?.sorted() == (observations[0] + observations[1]).sorted())
            #expect((summary["request"] as? String)?.hasSuffix("/fhir/Group/\(cohort)/$export?_type=Patient,Observation") == true)

            // The Group is its writer's: to the other hospital it does not exist, read, searched or exported.
            #expect(try await hub.send("GET", "/fhir/Group/\(cohort)", presenting: pki.otherHospital).status == 404)
            let searched = try await hub.send("GET", "/fhir/Group?member=Patient/\(patients[0])", presenting: pki.otherHospital)
            #expect(searched.status == 200, "\(searched.text)")
            #expect((try jsonObject(searched)["entry"] as? [Any]) == nil, "\(searched.text)")
            let mine = try await hub.send("GET", "/fhir/Group?member=Patient/\(patients[0])", presenting: pki)
            #expect((try jsonObject(mine)["entry"] as? [Any])?.count == 1, "\(mine.text)")
            let foreign = try await hub.send("GET", "/fhir/Group/\(cohort)/$export", headers: Self.async, presenting: pki.otherHospital)
            #expect(foreign.status == 404, "\(foreign.text)")

            // An attacker hospital's Group naming the first hospital's patients exports only its own.
            let attacker = try await group(
                [("Patient/\(patients[0])", [:]), ("Patient/\(patients[1])", [:]), ("Patient/\(stranger)", [:])], presenting: pki.otherHospital)
            let (_, taken) = try await Self.export(hub, "/fhir/Group/\(attacker)/$export", presenting: pki.otherHospital)
            #expect(taken["Patient"] == [stranger], "\(taken)")
            let firstHospitals = Set(patients + observations.joined())
            #expect(taken.values.joined().allSatisfy { !firstHospitals.contains($0) })

            // What a Group-level export refuses.
            let definitional = try await group([], actual: false, presenting: pki)
            let retired = try await group([("Patient/\(patients[0])", [:])], extra: ["active": false], presenting: pki)
            for (path, expected) in [
                ("/fhir/Group/\(definitional)/$export", 422), ("/fhir/Group/\(retired)/$export", 422), ("/fhir/Group/no-such-group/$export", 404),
                ("/fhir/Group/\(cohort)/$export?_type=Organization", 400), ("/fhir/Group/\(cohort)/$export?_type=Group", 400),
                ("/fhir/Observation/\(observations[0][0])/$export", 404),
            ] {
                let reply = try await hub.send("GET", path, headers: Self.async, presenting: pki)
                #expect(reply.status == expected, "\(path): \(reply.text)")
                #expect(reply.text.contains("OperationOutcome"), "\(path)")
            }
            let deleted = try await group([("Patient/\(patients[0])", [:])], presenting: pki)
            #expect(try await hub.send("DELETE", "/fhir/Group/\(deleted)", presenting: pki).status == 204)
            #expect(try await hub.send("GET", "/fhir/Group/\(deleted)/$export", headers: Self.async, presenting: pki).status == 410)
            // To another hospital, a deleted Group is as one that never was.
            #expect(try await hub.send("GET", "/fhir/Group/\(deleted)/$export", headers: Self.async, presenting: pki.otherHospital).status == 404)
            // A Group filed under a patient through a contained record would be seen by whoever sees
            // that patient's: refused, as is a Group inside another record.
            let containing: [String: Any] = [
                "resourceType": "Group", "type": "person", "actual": true,
                "contained": [
                    [
                        "resourceType": "Observation", "id": "o", "status": "final", "code": ["text": "血糖"],
                        "subject": ["reference": "Patient/\(patients[0])"],
                    ]
                ],
            ]
            let smuggled = try await hub.send(
                "POST", "/fhir/Group", headers: [("Content-Type", "application/fhir+json")],
                body: Array(try JSONSerialization.data(withJSONObject: containing)), presenting: pki)
            #expect(smuggled.status == 422, "\(smuggled.text)")

            // The kick-off's read of the Group is in the trail, and the exported patients' histories
            // hold the export; the patient left out of the cohort's does not.
            let exportedMember = patients[1]
            let regulatorSees = try await eventually(within: .seconds(30)) {
                let member = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(exportedMember)", presenting: pki.regulator)
                return member.text.contains("\"export\"")
            }
            #expect(regulatorSees)
            let outside = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(patients[3])", presenting: pki.regulator)
            #expect(!outside.text.contains("\"export\""))
            // The kick-off aimed at every current member, the other hospital's patient included: in
            // that patient's history, although nothing of theirs was read.
            let aimed = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(stranger)", presenting: pki.regulator)
            #expect(aimed.text.contains(TestHub.Identities.system), "\(aimed.text)")
            let capability = try await hub.send("GET", "/fhir/metadata", presenting: pki)
            #expect(capability.text.contains("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"))
        }
    }

    @Test func refusalsAndOtherClientsJobs() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
        }) { hub in
            _ = try await createPatient(hub, seed: 320, presenting: pki)
            let kickOff = try await hub.send("GET", "/fhir/$export", headers: Self.async, presenting: pki)
            #expect(kickOff.status == 202)
            let location = try #require(kickOff.header("Content-Location"))
            #expect(location.hasPrefix(hub.url + "/fhir/$export-status/"))
            let status = String(location.dropFirst(hub.url.count))
            let job = String(status.split(separator: "/").last ?? "")
            // The job stays queued throughout, however slow the machine: it is not due before its
            // transaction time has settled, which is moved a day ahead.
            let url = try #require(hub.configuration.database.url)
            try await TestDatabase.execute(url, "UPDATE export_jobs SET transaction_time = now() + interval '1 day'")

            let queued = try await hub.send("GET", status, presenting: pki)
            #expect(queued.status == 202)
            #expect(queued.header("X-Progress") == "queued")
            #expect(queued.header("Retry-After") == "1")
            // One export at a time per client.
            let second = try await hub.send("GET", "/fhir/Patient/$export", headers: Self.async, presenting: pki)
            #expect(second.status == 429)
            #expect(second.header("Retry-After") != nil)

            // Another hospital's system learns nothing of the job, and cannot cancel it.
            for (method, path) in [("GET", status), ("DELETE", status), ("GET", "/fhir/$export-file/\(job)/Patient-1.ndjson")] {
                let reply = try await hub.send(method, path, presenting: pki.otherHospital)
                #expect(reply.status == 404, "\(method) \(path)")
            }
            // Neither does a regulator nor a clinician, and neither may export.
            #expect(try await hub.send("GET", status, presenting: pki.regulator).status == 403)
            let clinician = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", status, bearer: clinician).status == 404)
            #expect(try await hub.send("GET", "/fhir/$export", headers: Self.async, bearer: clinician).status == 403)
            // A system whose scopes stop at Patient exports no Observation.
            let narrow = try await hub.token(for: TestHub.Identities.otherSystem, scopes: ["system/Patient.read"])
            let narrowReply = try await hub.send(
                "GET", "/fhir/$export?_type=Observation", headers: Self.async, presenting: pki.otherHospital, bearer: narrow)
            #expect(narrowReply.status == 403, "\(narrowReply.status) \(narrowReply.text)")

            for (path, expected) in [
                ("/fhir/$export?_outputFormat=text%2Fcsv", 400), ("/fhir/$export?_type=Unicorn", 400), ("/fhir/$export?_since=soon", 400),
                ("/fhir/$export?_typeFilter=Observation%3F_count%3D5", 400), ("/fhir/$export?colour=blue", 400),
                ("/fhir/Patient/$export?_type=Organization", 400), ("/fhir/Observation/$export", 404),
            ] {
                let reply = try await hub.send("GET", path, headers: Self.async, presenting: pki.otherHospital)
                #expect(reply.status == expected, "\(path): \(reply.text)")
                #expect(reply.text.contains("OperationOutcome"), "\(path)")
            }
            #expect(try await hub.send("GET", "/fhir/$export", presenting: pki.otherHospital).status == 400)  // no Prefer
            #expect(try await hub.send("GET", "/fhir/$export-status/not-a-job", presenting: pki).status == 404)
            // Files exist only once the job completes.
            #expect(try await hub.send("GET", "/fhir/$export-file/\(job)/Patient-1.ndjson", presenting: pki).status == 404)

            // Cancelled: gone for good, and the client may ask again.
            #expect(try await hub.send("DELETE", status, presenting: pki).status == 202)
            #expect(try await hub.send("GET", status, presenting: pki).status == 404)
            #expect(try await hub.send("DELETE", status, presenting: pki).status == 404)
            #expect(try await hub.send("GET", "/fhir/$export", headers: Self.async, presenting: pki).status == 202)

            let capability = try await hub.send("GET", "/fhir/metadata", presenting: pki)
            #expect(capability.text.contains("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"))
            #expect(capability.text.contains("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"))
        }
    }

    @Test func theHealthDataCenterExportsUnderTheCommissionsGrant() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 500
        }) { hub in
            let (first, firstResults) = try await Self.patient(hub, seed: 330, tests: Array(LabTest.common.prefix(2)), presenting: pki)
            let (denying, _) = try await Self.patient(hub, seed: 331, tests: [LabTest.common[0]], presenting: pki)
            let (third, thirdResults) = try await Self.patient(hub, seed: 332, tests: [LabTest.common[2]], presenting: pki.otherHospital)
            // The second patient's Consent denies sharing with everyone.
            let consent = try await hub.send(
                "POST", "/fhir/Consent", headers: [("Content-Type", "application/fhir+json")],
                body: Array(AuthorizationMatrixTests.consent(patient: denying, provision: #"{"type":"deny"}"#).utf8), presenting: pki)
            #expect(consent.status == 201, "\(consent.text)")

            // The commission registers the data center, its systems (one that may also write), and a
            // second administrator.
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let json = [("Content-Type", "application/json")]
            for (path, body) in [
                ("/admin/organizations", #"{"id":"health-data-center","name":"市健康医疗大数据中心","kind":"other"}"#),
                (
                    "/admin/principals",
                    #"{"id":"data-center-system","role":"system","organization":"health-data-center","name":"数据中心","scopes":["system/*.read"]}"#
                ),
                (
                    "/admin/principals",
                    #"{"id":"data-center-writer","role":"system","organization":"health-data-center","name":"数据中心","scopes":["system/*.*"]}"#
                ),
                (
                    "/admin/principals",
                    #"{"id":"data-center-other","role":"system","organization":"health-data-center","name":"数据中心","scopes":["system/*.read"]}"#
                ),
                ("/admin/principals", #"{"id":"second-admin","role":"administrator","organization":"health-commission","name":"赵管理员"}"#),
            ] {
                let added = try await hub.send("POST", path, headers: json, body: Array(body.utf8), bearer: admin)
                #expect(added.status == 201, "\(path): \(added.text)")
            }
            let center = try await hub.token(for: "data-center-system")
            // Without a grant it exports what it may see itself: no hospital's patients.
            let (_, before) = try await Self.export(hub, "/fhir/$export?_type=Patient,Observation", bearer: center)
            #expect(before["Patient"] == nil && before["Observation"] == nil)

            let until = UTCTime(Date().addingTimeInterval(30 * 86_400)).instant
            func grant(_ organization: String, _ purpose: String, clients: String = #"["data-center-system","data-center-writer"]"#) -> [UInt8] {
                Array(
                    #"{"organization":"\#(organization)","clients":\#(clients),"purpose":"\#(purpose)","basis":"市卫健委〔2026〕12号","validUntil":"\#(until)"}"#
                        .utf8)
            }
            // Not a hospital, not for marketing, not by a hospital's system, not without a basis.
            #expect(
                try await hub.send("POST", "/admin/population-grants", headers: json, body: grant("test-hospital", "PUBHLTH"), bearer: admin).status
                    == 400)
            #expect(
                try await hub.send("POST", "/admin/population-grants", headers: json, body: grant("health-data-center", "HMARKT"), bearer: admin)
                    .status == 400)
            #expect(
                try await hub.send("POST", "/admin/population-grants", headers: json, body: grant("health-data-center", "PUBHLTH"), presenting: pki)
                    .status == 403)
            // Neither the commission itself nor another organization's systems.
            let commission = try await hub.send(
                "POST", "/admin/population-grants", headers: json, body: grant("health-commission", "PUBHLTH"), bearer: admin)
            #expect(commission.status == 400)
            let foreign = try await hub.send(
                "POST", "/admin/population-grants", headers: json, body: grant("health-data-center", "PUBHLTH", clients: #"["test-system"]"#),
                bearer: admin)
            #expect(foreign.status == 400)
            let granted = try await hub.send(
                "POST", "/admin/population-grants", headers: json, body: grant("health-data-center", "PUBHLTH"), bearer: admin)
            #expect(granted.status == 201, "\(granted.text)")
            let grantID = try #require(try jsonObject(granted)["id"] as? String)
            // Not in force until a second administrator approves it.
            let (_, unapproved) = try await Self.export(hub, "/fhir/$export?_type=Patient", bearer: center)
            #expect(unapproved["Patient"] == nil)
            #expect(try await hub.send("POST", "/admin/population-grants/\(grantID)/approve", bearer: admin).status == 403)
            let second = try await hub.token(for: "second-admin")
            let approved = try await hub.send("POST", "/admin/population-grants/\(grantID)/approve", bearer: second)
            #expect(approved.status == 200, "\(approved.text)")
            #expect(try jsonObject(approved)["approvedBy"] as? String == "second-admin")
            // A named system that may also write may not export under it; one not named exports its own view.
            let writer = try await hub.token(for: "data-center-writer")
            #expect(try await hub.send("GET", "/fhir/$export", headers: Self.async, bearer: writer).status == 403)
            let (_, unnamed) = try await Self.export(hub, "/fhir/$export?_type=Patient", bearer: try await hub.token(for: "data-center-other"))
            #expect(unnamed["Patient"] == nil)

            let (_, during) = try await Self.export(hub, "/fhir/$export?_type=Patient,Observation", bearer: center)
            #expect(Set(during["Patient"] ?? []) == [first, third])
            #expect(Set(during["Observation"] ?? []) == Set(firstResults + thirdResults))
            // The data center's own cohort, written by its writing system, exported under the grant:
            // the patient whose Consent denies sharing stays out of it.
            let cohort: [String: Any] = [
                "resourceType": "Group", "type": "person", "actual": true,
                "member": [["entity": ["reference": "Patient/\(first)"]], ["entity": ["reference": "Patient/\(denying)"]]],
            ]
            let written = try await hub.send(
                "POST", "/fhir/Group", headers: [("Content-Type", "application/fhir+json")],
                body: Array(try JSONSerialization.data(withJSONObject: cohort)), bearer: writer)
            #expect(written.status == 201, "\(written.text)")
            let cohortID = try #require(try jsonObject(written)["id"] as? String)
            let (_, ofCohort) = try await Self.export(hub, "/fhir/Group/\(cohortID)/$export?_type=Patient,Observation", bearer: center)
            #expect(ofCohort["Patient"] == [first] && Set(ofCohort["Observation"] ?? []) == Set(firstResults), "\(ofCohort)")
            // The grant opens the export only: a read of the same patient is still 404.
            #expect(try await hub.send("GET", "/fhir/Patient/\(first)", bearer: center).status == 404)
            // The pages are in the patient's access history for the grant's purpose.
            #expect(
                try await eventually(within: .seconds(30)) {
                    let events = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(first)", presenting: pki.regulator)
                    return events.text.contains("PUBHLTH") && events.text.contains("data-center-system")
                })

            // A regulator's report explains those reads by the grant (in force then, for its purpose):
            // they are not among the reads without a relationship.
            let period = "from=\(UTCTime(Date().addingTimeInterval(-86_400)).instant)&to=\(UTCTime(Date().addingTimeInterval(86_400)).instant)"
                .replacingOccurrences(of: "+", with: "%2B")
            let report = try jsonObject(try await hub.send("GET", "/audit/reports?\(period)", presenting: pki.regulator))
            let body = try #require(report["body"] as? [String: Any], "\(report)")
            let sections = try #require(body["sections"] as? [String: Any])
            let centerReads = (sections["byOrganization"] as? [[String: Any]] ?? []).first { $0["key"] as? String == "health-data-center" }
            #expect((centerReads?["reads"] as? Int ?? 0) > 0, "the export's pages are reads of the data center")
            let findings = body["readsWithoutRelationship"] as? [[String: Any]] ?? []
            #expect(!findings.contains { $0["organization"] as? String == "health-data-center" }, "\(findings)")

            // Revoked: the next export is the data center's own view again.
            #expect(try await hub.send("DELETE", "/admin/population-grants/\(grantID)", bearer: admin).status == 204)
            let listed = try await hub.send("GET", "/admin/population-grants", bearer: admin)
            #expect(listed.text.contains("revokedAt"))
            let (_, after) = try await Self.export(hub, "/fhir/$export?_type=Patient,Observation", bearer: center)
            #expect(after["Patient"] == nil && after["Observation"] == nil)
        }
    }
}
