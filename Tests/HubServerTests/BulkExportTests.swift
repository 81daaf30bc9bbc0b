import Foundation
import HubClient
import HubConfig
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
        _ hub: RunningHub, _ path: String, presenting caller: TestPKI,
        beforeDeleting: @Sendable ([String: String]) async throws -> Void = { _ in }
    ) async throws -> ([String: Any], [String: [String]]) {
        let kickOff = try await hub.send("GET", path, headers: Self.async, presenting: caller)
        guard kickOff.status == 202, let status = kickOff.header("Content-Location") else {
            throw TestFailure(description: "kick-off answered \(kickOff.status): \(kickOff.text)")
        }
        let statusPath = String(status[status.range(of: "/fhir/")!.lowerBound...])
        var manifest: [String: Any]?
        for _ in 0..<600 where manifest == nil {
            let reply = try await hub.send("GET", statusPath, presenting: caller)
            if reply.status == 202 {
                #expect(reply.header("X-Progress") != nil)
                #expect(reply.header("Retry-After") != nil)
                try await Task.sleep(for: .milliseconds(100))
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
            let reply = try await hub.send("GET", String(url[url.range(of: "/fhir/")!.lowerBound...]), presenting: caller)
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
        #expect(try await hub.send("DELETE", statusPath, presenting: caller).status == 202)
        return (found, ids)
    }

    @Test func anIndependentClientExportsWhatItsHospitalMaySee() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 100
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

    @Test func refusalsAndOtherClientsJobs() async throws {
        let pki = try TestEnvironment.pki()
        // A runner that looks for work once a minute: the job stays queued throughout.
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 60_000
        }) { hub in
            _ = try await createPatient(hub, seed: 320, presenting: pki)
            let kickOff = try await hub.send("GET", "/fhir/$export", headers: Self.async, presenting: pki)
            #expect(kickOff.status == 202)
            let location = try #require(kickOff.header("Content-Location"))
            #expect(location.hasPrefix(hub.url + "/fhir/$export-status/"))
            let status = String(location.dropFirst(hub.url.count))
            let job = String(status.split(separator: "/").last ?? "")

            let queued = try await hub.send("GET", status, presenting: pki)
            #expect(queued.status == 202)
            #expect(queued.header("X-Progress") == "queued")
            #expect(queued.header("Retry-After") == "60")
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
}
