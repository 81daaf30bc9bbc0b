import Foundation
import HubClient
import HubConfig
import HubFHIR
import HubSynthetic
import HubTestSupport
import Testing

/// FHIR Bulk Data import over HTTPS: an independent client migrating a hospital's records, what
/// an import refuses line by line, that importing again writes nothing twice, and the refusals
/// an attacker hospital meets.
@Suite struct BulkImportTests {
    static let ndjson = [("Content-Type", "application/fhir+ndjson")]

    /// `json` (a resource as JSON text) as one NDJSON line, with `id` set.
    static func line(_ json: String, id: String? = nil) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        if let id { object["id"] = id }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A source system's records: `count` patients (`src-1`…) with two results each, as
    /// Patient and Observation NDJSON.
    static func records(seed: UInt64, count: Int) throws -> (patients: [String], observations: [String]) {
        var synthetic = SyntheticPatients(seed: seed)
        var patients: [String] = []
        var observations: [String] = []
        for number in 1...count {
            patients.append(try Self.line(synthetic.patientJSON(mrnSystem: "urn:health-hub:sid:mrn:H001"), id: "src-\(number)"))
            for (index, test) in LabTest.common.prefix(2).enumerated() {
                let json = synthetic.observationJSON(test: test, patient: "Patient/src-\(number)", day: "2026-10-1\(index)")
                observations.append(try Self.line(json, id: "obs-\(number)-\(index)"))
            }
        }
        return (patients, observations)
    }

    static func write(_ lines: [String], _ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    @Test func anIndependentClientMigratesAHospitalsRecords() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.export.pollMilliseconds = 300
        }) { hub in
            // A patient the other hospital registered, whose resident ID the import also carries.
            var theirs = SyntheticPatients(seed: 400)
            let theirPerson = theirs.person()
            let registered = try await hub.send(
                "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(theirs.patientJSON(theirPerson).utf8),
                presenting: pki.otherHospital)
            #expect(registered.status == 201)
            let stranger = try #require(try jsonObject(registered)["id"] as? String)

            var (patients, observations) = try Self.records(seed: 401, count: 3)
            // Refused lines: not JSON; a Patient in the Observation input; a result filed under the
            // other hospital's patient by its hub id (in this import, a patient it never had); a
            // Patient with the resident ID the other hospital registered.
            observations.insert("{not json", at: 1)
            observations.append(patients[0])
            var synthetic = SyntheticPatients(seed: 402)
            observations.append(
                try Self.line(synthetic.observationJSON(test: LabTest.common[0], patient: "Patient/\(stranger)", day: "2026-10-01"), id: "obs-x"))
            // And the same patient by the hub's absolute URL.
            observations.append(
                try Self.line(
                    synthetic.observationJSON(test: LabTest.common[1], patient: "\(hub.url)/fhir/Patient/\(stranger)", day: "2026-10-01"), id: "obs-y"
                ))
            patients.append(try Self.line(theirs.patientJSON(theirPerson), id: "src-dup"))
            // Observations named first: the hub writes the Patients first anyway.
            let files = ["Observation=" + (try Self.write(observations, "obs.ndjson")), "Patient=" + (try Self.write(patients, "pat.ndjson"))]
            let output = try await TestPeer.run(
                "bulk_import_client.py", [hub.url + "/fhir", pki.caCertificate, pki.clientCertificate, pki.clientKey] + files)
            #expect(output.status == 0, "\(output.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
            #expect(summary["created"] as? Int == 9)
            #expect(summary["skipped"] as? Int == 0)
            #expect(summary["refused"] as? Int == 5)
            let errors = try #require(summary["errors"] as? [String])
            #expect(errors.contains { $0.hasPrefix("input 1 (Observation), line 2: the line is not a JSON object") }, "\(errors)")
            #expect(
                errors.contains { $0.hasPrefix("input 1 (Observation), line 8: resourceType is Patient but the input holds Observation") },
                "\(errors)")
            #expect(errors.contains { $0.hasPrefix("input 1 (Observation), line 9: no access to the records of Patient/") }, "\(errors)")
            #expect(errors.contains { $0.hasPrefix("input 1 (Observation), line 10: an import refers to its own records as Type/id") }, "\(errors)")
            #expect(errors.contains { $0.hasPrefix("input 2 (Patient), line 4: a Patient with this") }, "\(errors)")

            // The imported records are the hospital's, found and joined as any it wrote.
            let first = try JSONSerialization.jsonObject(with: Data(patients[0].utf8)) as? [String: Any]
            let mrn = try #require(((first?["identifier"] as? [[String: Any]])?[1])?["value"] as? String)
            let found = try await hub.send("GET", "/fhir/Patient?identifier=urn:health-hub:sid:mrn:H001%7C\(mrn)", presenting: pki)
            let bundle = try jsonObject(found)
            let entry = try #require((bundle["entry"] as? [[String: Any]])?.first?["resource"] as? [String: Any], "\(found.text)")
            let patient = try #require(entry["id"] as? String)
            #expect(patient != "src-1")
            // Found by name too (the substrings of names are index rows of their own).
            let family = try #require(((first?["name"] as? [[String: Any]])?.first)?["family"] as? String)
            let given = try #require((((first?["name"] as? [[String: Any]])?.first)?["given"] as? [String])?.first)
            let query = "\(family)\(given)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let byName = try jsonObject(try await hub.send("GET", "/fhir/Patient?name=\(query)", presenting: pki))
            let named = (byName["entry"] as? [[String: Any]] ?? []).compactMap { ($0["resource"] as? [String: Any])?["id"] as? String }
            #expect(named.contains(patient), "\(byName)")
            let results = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(results["total"] as? Int == 2, "\(results)")
            // Not the other hospital's: it sees neither the patient nor their results.
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: pki.otherHospital).status == 404)
            // Nothing was filed under the other hospital's patient.
            let strangers = try jsonObject(
                try await hub.send("GET", "/fhir/Observation?subject=Patient/\(stranger)&_summary=count", presenting: pki.otherHospital))
            #expect(strangers["total"] as? Int == 0)
            // Each write is in the patient's access history.
            #expect(
                try await eventually(within: .seconds(30)) {
                    let events = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(patient)", presenting: pki.regulator)
                    return events.text.contains("\"import\"")
                })

            // The conflict named the other hospital's patient: it is in that patient's access history.
            #expect(
                try await eventually(within: .seconds(30)) {
                    let events = try await hub.send("GET", "/fhir/AuditEvent?patient=Patient/\(stranger)", presenting: pki.regulator)
                    return events.text.contains("\"import\"")
                })

            // The same files again (a migration run twice): nothing is written twice.
            let again = try await TestPeer.run(
                "bulk_import_client.py", [hub.url + "/fhir", pki.caCertificate, pki.clientCertificate, pki.clientKey] + files)
            #expect(again.status == 0, "\(again.standardError)")
            let second = try #require(try JSONSerialization.jsonObject(with: Data(again.standardOutput.utf8)) as? [String: Any])
            #expect(second["created"] as? Int == 0)
            #expect(second["skipped"] as? Int == 9)
            #expect(second["refused"] as? Int == 5)
            let total = try jsonObject(try await hub.send("GET", "/fhir/Observation?_summary=count", presenting: pki))
            #expect(total["total"] as? Int == 6)
        }
    }

    @Test func refusalsAndOtherClientsJobs() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            // Jobs stay queued: the runner looks at the queue once, at start.
            $0.export.pollMilliseconds = 3_600_000
        }) { hub in
            let (patients, _) = try Self.records(seed: 410, count: 2)
            let body = Array((patients.joined(separator: "\n") + "\n").utf8)
            func stage(_ caller: TestPKI) async throws -> String {
                let reply = try await hub.send("POST", "/fhir/$import-input", headers: Self.ndjson, body: body, presenting: caller)
                #expect(reply.status == 201, "\(reply.text)")
                return try #require(reply.header("Location"))
            }
            func parameters(_ inputs: [(String, String)]) -> [UInt8] {
                let parts = inputs.map { type, url in
                    #"{"name":"input","part":[{"name":"type","valueCode":"\#(type)"},{"name":"url","valueUri":"\#(url)"}]}"#
                }
                return Array(#"{"resourceType":"Parameters","parameter":[\#(parts.joined(separator: ","))]}"#.utf8)
            }
            let kickOffHeaders = [("Content-Type", "application/fhir+json"), ("Prefer", "respond-async")]
            let mine = try await stage(pki)
            let theirs = try await stage(pki.otherHospital)

            // Staging: NDJSON only, not empty; neither clinicians nor regulators import.
            #expect(
                try await hub.send("POST", "/fhir/$import-input", headers: [("Content-Type", "application/fhir+json")], body: body, presenting: pki)
                    .status == 415)
            #expect(try await hub.send("POST", "/fhir/$import-input", headers: Self.ndjson, body: Array("\n\n".utf8), presenting: pki).status == 400)
            let clinician = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("POST", "/fhir/$import-input", headers: Self.ndjson, body: body, bearer: clinician).status == 403)
            #expect(try await hub.send("POST", "/fhir/$import-input", headers: Self.ndjson, body: body, presenting: pki.regulator).status == 403)
            // A system that only reads stages nothing.
            let reader = try await hub.token(for: TestHub.Identities.system, scopes: ["system/*.read"])
            #expect(
                try await hub.send("POST", "/fhir/$import-input", headers: Self.ndjson, body: body, presenting: pki, bearer: reader).status == 403)

            // Kick-off refusals: no Prefer; another hospital's input; types an import does not write
            // or the scopes do not allow; not Parameters; the same input twice.
            let narrow = try await hub.token(for: TestHub.Identities.system, scopes: ["system/Observation.write"])
            for (headers, payload, bearer, expected) in [
                ([("Content-Type", "application/fhir+json")], parameters([("Patient", mine)]), nil, 400),
                (kickOffHeaders, parameters([("Patient", theirs)]), nil, 400),
                (kickOffHeaders, parameters([("Consent", mine)]), nil, 422),
                (kickOffHeaders, parameters([("Patient", mine)]), narrow, 403),
                (kickOffHeaders, Array(#"{"resourceType":"Patient"}"#.utf8), nil, 400),
                (kickOffHeaders, parameters([("Patient", mine), ("Patient", mine)]), nil, 400),
                (kickOffHeaders, parameters([("Patient", "https://elsewhere.example/data.ndjson")]), nil, 400),
            ] as [([(String, String)], [UInt8], String?, Int)] {
                let reply = try await hub.send("POST", "/fhir/$import", headers: headers, body: payload, presenting: pki, bearer: bearer)
                #expect(reply.status == expected, "\(reply.text)")
                #expect(reply.text.contains("OperationOutcome"))
            }

            let kickOff = try await hub.send("POST", "/fhir/$import", headers: kickOffHeaders, body: parameters([("Patient", mine)]), presenting: pki)
            #expect(kickOff.status == 202, "\(kickOff.text)")
            let location = try #require(kickOff.header("Content-Location"))
            let status = String(location.dropFirst(hub.url.count))
            let queued = try await hub.send("GET", status, presenting: pki)
            #expect(queued.status == 202)
            #expect(queued.header("X-Progress") == "queued")
            // One import at a time per client; an input taken by a job is not taken again.
            let another = try await stage(pki)
            #expect(
                try await hub.send("POST", "/fhir/$import", headers: kickOffHeaders, body: parameters([("Patient", another)]), presenting: pki).status
                    == 429)
            let otherKickOff = try await hub.send(
                "POST", "/fhir/$import", headers: kickOffHeaders, body: parameters([("Patient", mine)]), presenting: pki.otherHospital)
            #expect(otherKickOff.status == 400)

            // Another hospital learns nothing of the job, and cannot cancel it; nor can a clinician.
            for (method, path) in [("GET", status), ("DELETE", status), ("GET", status + "/errors.ndjson")] {
                #expect(try await hub.send(method, path, presenting: pki.otherHospital).status == 404, "\(method) \(path)")
                #expect(try await hub.send(method, path, bearer: clinician).status == 404, "\(method) \(path)")
            }
            #expect(try await hub.send("GET", status + "/errors.ndjson", presenting: pki).status == 404)
            let capability = try await hub.send("GET", "/fhir/metadata", presenting: pki)
            #expect(capability.text.contains("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import"))
            // Cancelled: gone, and the client may import again.
            #expect(try await hub.send("DELETE", status, presenting: pki).status == 202)
            #expect(try await hub.send("GET", status, presenting: pki).status == 404)
            #expect(
                try await hub.send("POST", "/fhir/$import", headers: kickOffHeaders, body: parameters([("Patient", another)]), presenting: pki).status
                    == 202)
        }
    }
}
