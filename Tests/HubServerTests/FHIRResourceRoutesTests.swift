import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRResourceRoutesTests {
    static let json = [("Content-Type", "application/fhir+json")]

    /// Also with each connection's requests served on its own event loop
    /// (`server.handlers_on_event_loop`): the same answers either way.
    @Test(arguments: [false, true])
    func createReadUpdateDeleteVreadAndHistoryOverHTTPS(onEventLoop: Bool) async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.server.handlersOnEventLoop = onEventLoop
        }) { hub in
            var patients = SyntheticPatients(seed: 21)
            let created = try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(patients.patientJSON().utf8), presenting: pki)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.header("etag") == "W/\"1\"")
            #expect(created.header("content-type") == "application/fhir+json; charset=utf-8")
            let location = try #require(created.header("location"))
            #expect(location.hasPrefix("https://127.0.0.1:\(hub.port)/fhir/Patient/") && location.hasSuffix("/_history/1"))
            let patient = try jsonObject(created)
            let id = try #require(patient["id"] as? String)
            #expect((patient["meta"] as? [String: Any])?["versionId"] as? String == "1")

            let read = try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki)
            #expect(read.status == 200)
            #expect(read.header("last-modified")?.hasSuffix(" GMT") == true)
            #expect(try jsonObject(read)["birthDate"] as? String == patient["birthDate"] as? String)
            // Conditional read: a client whose copy is current gets 304 and no body.
            let lastModified = try #require(read.header("last-modified"))
            for (header, value, status) in [
                ("If-None-Match", "W/\"1\"", 304), ("If-None-Match", "\"1\"", 304), ("If-None-Match", "W/\"7\", W/\"1\"", 304),
                ("If-None-Match", "*", 304), ("If-None-Match", "W/\"2\"", 200), ("If-Modified-Since", lastModified, 304),
                ("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", 200), ("If-Modified-Since", "yesterday", 200),
            ] {
                let conditional = try await hub.send("GET", "/fhir/Patient/\(id)", headers: [(header, value)], presenting: pki)
                #expect(conditional.status == status, "\(header): \(value)")
                if status == 304 {
                    #expect(conditional.body.isEmpty && conditional.header("etag") == "W/\"1\"")
                }
            }
            #expect(
                try await hub.send("GET", "/fhir/Patient/\(id)/_history/1", headers: [("If-None-Match", "W/\"1\"")], presenting: pki).status == 304)

            // Update with the current version, then a stale one.
            var body = try jsonObject(read)
            body["active"] = true
            let bytes = Array(try JSONSerialization.data(withJSONObject: body))
            let updated = try await hub.send(
                "PUT", "/fhir/Patient/\(id)", headers: Self.json + [("If-Match", "W/\"1\"")], body: bytes, presenting: pki)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.header("etag") == "W/\"2\"")
            let stale = try await hub.send("PUT", "/fhir/Patient/\(id)", headers: Self.json + [("If-Match", "W/\"1\"")], body: bytes, presenting: pki)
            #expect(stale.status == 412)
            #expect((try jsonObject(stale)["resourceType"] as? String) == "OperationOutcome")

            let minimal = try await hub.send(
                "PUT", "/fhir/Patient/\(id)", headers: Self.json + [("Prefer", "return=minimal")], body: bytes, presenting: pki)
            #expect(minimal.status == 200 && minimal.body.isEmpty && minimal.header("etag") == "W/\"3\"")

            let deleted = try await hub.send("DELETE", "/fhir/Patient/\(id)", presenting: pki)
            #expect(deleted.status == 204)
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki).status == 410)
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)/_history/1", presenting: pki).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)/_history/4", presenting: pki).status == 410)
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)/_history/9", presenting: pki).status == 404)

            let history = try jsonObject(try await hub.send("GET", "/fhir/Patient/\(id)/_history", presenting: pki))
            #expect(history["type"] as? String == "history")
            let methods = (history["entry"] as? [[String: Any]])?.compactMap { ($0["request"] as? [String: Any])?["method"] as? String }
            #expect(methods == ["DELETE", "PUT", "PUT", "POST"])
        }
    }

    @Test func clinicalRoutesNeedAClientCertificate() async throws {
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let reply = try await hub.send("GET", "/fhir/Patient/abc")
            #expect(reply.status == 401)
            let issue = (try jsonObject(reply)["issue"] as? [[String: Any]])?.first
            #expect(issue?["code"] as? String == "login")
            // The CapabilityStatement stays public.
            #expect(try await hub.send("GET", "/fhir/metadata").status == 200)
        }
    }

    @Test(arguments: [
        ("POST", "/fhir/Patient", "application/fhir+json", "{\"resourceType\":\"Patient\",", 400, "invalid"),
        ("POST", "/fhir/Patient", "text/plain", "Patient", 415, "not-supported"),
        ("POST", "/fhir/Unicorn", "application/fhir+json", "{\"resourceType\":\"Unicorn\"}", 404, "not-supported"),
        ("POST", "/fhir/Patient", "application/fhir+json", "{\"resourceType\":\"Observation\"}", 400, "invalid"),
        (
            "POST", "/fhir/Patient", "application/fhir+json",
            "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:health-hub:sid:resident-id\",\"value\":\"110105194912310021\"}]}", 422,
            "value"
        ),
        ("PUT", "/fhir/Patient/abc", "application/fhir+json", "{\"resourceType\":\"Patient\",\"id\":\"xyz\"}", 400, "invalid"),
        ("GET", "/fhir/Patient/abc?_format=turtle", "application/fhir+json", "", 406, "not-supported"),
        ("GET", "/fhir/Patient/not*an*id", "application/fhir+json", "", 400, "invalid"),
        (
            "POST", "/fhir/Observation", "application/fhir+json", "{\"resourceType\":\"Observation\",\"status\":\"done\",\"code\":{\"text\":\"血糖\"}}",
            400, "code-invalid"
        ),
        (
            "POST", "/fhir/Observation", "application/fhir+json",
            "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"血糖\"},\"valueBoolean\":\"yes\"}", 400, "value"
        ),
    ])
    func badRequestsGetAnOperationOutcome(method: String, path: String, contentType: String, body: String, status: Int, code: String) async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let reply = try await hub.send(
                method,
                path,
                headers: [("Content-Type", contentType)],
                body: body.isEmpty ? nil : Array(body.utf8),
                presenting: pki
            )
            #expect(reply.status == status, "\(reply.text)")
            let outcome = try jsonObject(reply)
            #expect(outcome["resourceType"] as? String == "OperationOutcome")
            #expect((outcome["issue"] as? [[String: Any]])?.first?["code"] as? String == code, "\(reply.text)")
        }
    }

    @Test func theCapabilityStatementListsEveryStoredType() async throws {
        try await withHub { hub in
            let statement = try jsonObject(try await hub.send("GET", "/fhir/metadata"))
            let resources = ((statement["rest"] as? [[String: Any]])?.first?["resource"] as? [[String: Any]]) ?? []
            // Every stored type, and the read-only audit trail.
            #expect(resources.count == 23)
            let group = resources.first { $0["type"] as? String == "Group" }
            #expect((group?["operation"] as? [[String: Any]])?.first?["name"] as? String == "export")
            let auditEvent = resources.first { $0["type"] as? String == "AuditEvent" }
            #expect((auditEvent?["interaction"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["read", "search-type"])
            let patient = resources.first { $0["type"] as? String == "Patient" }
            let interactions = (patient?["interaction"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
            #expect(interactions == ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"])
            let parameters: [String] = ((patient?["searchParam"] as? [Any]) ?? []).compactMap { ($0 as? [String: Any])?["name"] as? String }
            #expect(parameters.contains("identifier") && parameters.contains("birthdate") && parameters.contains("_id"), "\(parameters)")
            #expect((patient?["operation"] as? [[String: Any]])?.first?["name"] as? String == "everything")
        }
    }

    /// What the CapabilityStatement declares, the hub does: every search parameter, include and
    /// reverse include of every type is accepted and answered with a searchset.
    @Test func everythingTheCapabilityStatementDeclaresWorks() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let statement = try jsonObject(try await hub.send("GET", "/fhir/metadata"))
            let resources = ((statement["rest"] as? [[String: Any]])?.first?["resource"] as? [[String: Any]]) ?? []
            let samples = [
                "token": "x", "string": "a", "reference": "abc", "date": "ge2024", "quantity": "5", "uri": "http://example.org/p",
                // A composite's value part parses as a number, a token, a date and a string alike.
                "composite": "http://loinc.org%7C2345-7$2024",
            ]
            var requests = 0
            for resource in resources {
                let type = try #require(resource["type"] as? String)
                var queries: [String] = []
                for parameter in (resource["searchParam"] as? [[String: Any]]) ?? [] {
                    let name = try #require(parameter["name"] as? String)
                    let sample = try #require(samples[parameter["type"] as? String ?? ""])
                    queries.append("\(name)=\(sample)")
                }
                queries += ((resource["searchInclude"] as? [String]) ?? []).map { "_include=\($0)" }
                queries += ((resource["searchRevInclude"] as? [String]) ?? []).map { "_revinclude=\($0)" }
                for query in queries {
                    // The audit trail is the regulators'.
                    let reply = try await hub.send("GET", "/fhir/\(type)?\(query)", presenting: type == "AuditEvent" ? pki.regulator : pki)
                    #expect(reply.status == 200, "\(type)?\(query): \(reply.text)")
                    requests += 1
                }
            }
            #expect(requests > 600)
        }
    }
}
