import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRResourceRoutesTests {
    static let json = [("Content-Type", "application/fhir+json")]

    @Test func createReadUpdateDeleteVreadAndHistoryOverHTTPS() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
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
        ("POST", "/fhir/Patient", "application/xml", "<Patient/>", 415, "not-supported"),
        ("POST", "/fhir/Unicorn", "application/fhir+json", "{\"resourceType\":\"Unicorn\"}", 404, "not-supported"),
        ("POST", "/fhir/Patient", "application/fhir+json", "{\"resourceType\":\"Observation\"}", 400, "invalid"),
        (
            "POST", "/fhir/Patient", "application/fhir+json",
            "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:health-hub:sid:resident-id\",\"value\":\"110105194912310021\"}]}", 422,
            "value"
        ),
        ("PUT", "/fhir/Patient/abc", "application/fhir+json", "{\"resourceType\":\"Patient\",\"id\":\"xyz\"}", 400, "invalid"),
        ("GET", "/fhir/Patient/abc?_format=xml", "application/fhir+json", "", 406, "not-supported"),
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
            #expect(resources.count == 22)
            let auditEvent = resources.first { $0["type"] as? String == "AuditEvent" }
            #expect((auditEvent?["interaction"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["search-type"])
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
            let samples = ["token": "x", "string": "a", "reference": "abc", "date": "ge2024", "quantity": "5"]
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
            #expect(requests > 250)
        }
    }
}

@Suite struct FHIRSearchRoutesTests {
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

@Suite struct PatientIdentityTests {
    @Test func aResidentIDBelongsToOnePatientUnlessCreatedConditionally() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 1234)
            let body = Array(patients.patientJSON().utf8)
            let first = try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: body, presenting: pki)
            #expect(first.status == 201)
            let id = try #require(try jsonObject(first)["id"] as? String)
            let identifier = try #require(((try jsonObject(first)["identifier"] as? [[String: Any]])?.first?["value"]) as? String)

            // The same person again: 409, pointing to registration, not naming the Patient
            // (the caller may not be allowed to see it).
            let second = try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: body, presenting: pki)
            #expect(second.status == 409)
            let issue = (try jsonObject(second)["issue"] as? [[String: Any]])?.first
            #expect(issue?["code"] as? String == "duplicate")
            #expect((issue?["diagnostics"] as? String)?.contains("If-None-Exist") == true)
            #expect((issue?["diagnostics"] as? String)?.contains(id) == false)

            // As a conditional create: the existing one comes back, nothing new is made.
            let conditional = try await hub.send(
                "POST",
                "/fhir/Patient",
                headers: FHIRResourceRoutesTests.json + [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(identifier)")],
                body: body,
                presenting: pki
            )
            #expect(conditional.status == 200)
            #expect(try jsonObject(conditional)["id"] as? String == id)
            let count = try jsonObject(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 1)

            // Concurrent creates of one new person: exactly one succeeds.
            let newcomer = Array(patients.patientJSON().utf8)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await hub.send("POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: newcomer, presenting: pki).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 5)
        }
    }
}

@Suite struct FHIRBundleRoutesTests {
    static func bundle(_ type: String, _ entries: [String]) -> [UInt8] {
        Array(#"{"resourceType":"Bundle","type":"\#(type)","entry":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    static func labResults(patient: String, report: String = "urn:uuid:r1") -> [String] {
        [
            #"{"fullUrl":"urn:uuid:p1","resource":\#(patient),"request":{"method":"POST","url":"Patient"}}"#,
            #"{"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"urn:uuid:p1"},"valueQuantity":{"value":6.1,"unit":"mmol/L"}},"request":{"method":"POST","url":"Observation"}}"#,
            #"{"fullUrl":"\#(report)","resource":{"resourceType":"DiagnosticReport","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24323-8"}]},"subject":{"reference":"urn:uuid:p1"},"result":[{"reference":"urn:uuid:o1"}]},"request":{"method":"POST","url":"DiagnosticReport"}}"#,
        ]
    }

    @Test func aTransactionResolvesReferencesAndCommitsWhole() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 77)
            let reply = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json,
                body: Self.bundle("transaction", Self.labResults(patient: patients.patientJSON())), presenting: pki)
            #expect(reply.status == 200, "\(reply.text)")
            let response = try jsonObject(reply)
            #expect(response["type"] as? String == "transaction-response")
            let entries = response["entry"] as? [[String: Any]] ?? []
            try #require(entries.count == 3)
            #expect(entries.allSatisfy { ($0["response"] as? [String: Any])?["status"] as? String == "201 Created" })
            let patientID = ((entries[0]["resource"] as? [String: Any])?["id"] as? String) ?? ""
            let observationID = ((entries[1]["resource"] as? [String: Any])?["id"] as? String) ?? ""
            // urn:uuid references now point at the ids the hub assigned.
            let report = entries[2]["resource"] as? [String: Any]
            #expect(((report?["subject"] as? [String: Any])?["reference"] as? String) == "Patient/\(patientID)")
            #expect((((report?["result"] as? [[String: Any]])?.first)?["reference"] as? String) == "Observation/\(observationID)")
            let search = try jsonObject(try await hub.send("GET", "/fhir/Observation?patient=\(patientID)&_summary=count", presenting: pki))
            #expect(search["total"] as? Int == 1)
        }
    }

    @Test func aFailingTransactionLeavesNothingBehind() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 78)
            // The third entry refers to an entry that does not exist.
            var entries = Self.labResults(patient: patients.patientJSON())
            entries[2] = entries[2].replacingOccurrences(of: "urn:uuid:o1", with: "urn:uuid:missing")
            let unresolved = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", entries), presenting: pki)
            #expect(unresolved.status == 400, "\(unresolved.text)")
            // A database-level failure half-way (a duplicate resident ID in the same Bundle).
            let person = patients.patientJSON()
            let duplicate = [
                #"{"resource":\#(person),"request":{"method":"POST","url":"Patient"}}"#,
                #"{"resource":{"resourceType":"Organization","name":"检验中心"},"request":{"method":"POST","url":"Organization"}}"#,
                #"{"resource":\#(person),"request":{"method":"POST","url":"Patient"}}"#,
            ]
            let conflicted = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", duplicate), presenting: pki)
            #expect(conflicted.status == 409, "\(conflicted.text)")
            for type in ["Patient", "Organization", "Observation", "DiagnosticReport"] {
                let count = try jsonObject(try await hub.send("GET", "/fhir/\(type)?_summary=count", presenting: pki))
                #expect(count["total"] as? Int == 0, "\(type)")
            }
        }
    }

    @Test func aBatchReportsEachEntry() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let entries = [
                #"{"resource":{"resourceType":"Organization","name":"甲医院"},"request":{"method":"POST","url":"Organization"}}"#,
                #"{"request":{"method":"GET","url":"Organization/does-not-exist"}}"#,
                #"{"resource":{"resourceType":"Organization","name":""},"request":{"method":"POST","url":"Organization"}}"#,
            ]
            let reply = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("batch", entries), presenting: pki)
            #expect(reply.status == 200)
            let statuses = (try jsonObject(reply)["entry"] as? [[String: Any]])?.compactMap {
                ($0["response"] as? [String: Any])?["status"] as? String
            }
            #expect(statuses == ["201 Created", "404 Not Found", "400 Bad Request"])
        }
    }
}

@Suite struct FHIRPatchTests {
    @Test func patchesWithJSONPatchUnderTheVersionRules() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let created = try await hub.send(
                "POST", "/fhir/Organization", headers: FHIRResourceRoutesTests.json,
                body: Array(#"{"resourceType":"Organization","name":"市中心医院","active":true}"#.utf8), presenting: pki
            )
            let id = try #require(try jsonObject(created)["id"] as? String)
            let patchType = [("Content-Type", "application/json-patch+json")]
            let patched = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType + [("If-Match", "W/\"1\"")],
                body: Array(#"[{"op":"replace","path":"/active","value":false},{"op":"add","path":"/alias","value":["中心医院"]}]"#.utf8),
                presenting: pki
            )
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.header("etag") == "W/\"2\"")
            let body = try jsonObject(patched)
            #expect(body["active"] as? Bool == false)
            #expect((body["alias"] as? [String]) == ["中心医院"])

            let stale = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType + [("If-Match", "W/\"1\"")],
                body: Array(#"[{"op":"remove","path":"/alias"}]"#.utf8), presenting: pki
            )
            #expect(stale.status == 412)
            let failing = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"test","path":"/name","value":"别的医院"}]"#.utf8), presenting: pki
            )
            #expect(failing.status == 422)
            // A patch that would break the resource's rules (an empty string) is refused too.
            let invalid = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"replace","path":"/name","value":""}]"#.utf8), presenting: pki
            )
            #expect(invalid.status == 400)
            let changingID = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"replace","path":"/id","value":"other"}]"#.utf8), presenting: pki
            )
            #expect(changingID.status == 400)
            #expect(try await hub.send("GET", "/fhir/Organization/\(id)", presenting: pki).header("etag") == "W/\"2\"")
        }
    }
}

@Suite struct PatientEverythingTests {
    @Test func returnsThePatientsCaseHistoryPaged() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 4242)
            let patient = try jsonObject(
                try await hub.send(
                    "POST", "/fhir/Patient", headers: FHIRResourceRoutesTests.json, body: Array(patients.patientJSON().utf8), presenting: pki))
            let id = try #require(patient["id"] as? String)
            var observationIDs: [String] = []
            // Written out of clinical order: $everything returns them by their dates.
            for (code, day) in [("2345-7", "2026-03-01"), ("718-7", "2025-06-15"), ("4548-4", "2026-01-10")] {
                let body =
                    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"\#(code)"}]},"subject":{"reference":"Patient/\#(id)"},"effectiveDateTime":"\#(day)T08:00:00+08:00"}"#
                let created = try jsonObject(
                    try await hub.send("POST", "/fhir/Observation", headers: FHIRResourceRoutesTests.json, body: Array(body.utf8), presenting: pki))
                observationIDs.append(try #require(created["id"] as? String))
            }
            _ = try await hub.send(
                "POST", "/fhir/Organization", headers: FHIRResourceRoutesTests.json,
                body: Array(#"{"resourceType":"Organization","name":"外院"}"#.utf8), presenting: pki)
            _ = try await hub.send("DELETE", "/fhir/Observation/\(observationIDs[2])", presenting: pki)

            var seen: [String] = []
            var path: String? = "/fhir/Patient/\(id)/$everything?_count=2"
            while let current = path {
                let page = try jsonObject(try await hub.send("GET", current, presenting: pki))
                for entry in page["entry"] as? [[String: Any]] ?? [] {
                    let resource = entry["resource"] as? [String: Any]
                    seen.append("\(resource?["resourceType"] as? String ?? "")/\(resource?["id"] as? String ?? "")")
                }
                let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
            }
            // In time order: the Patient (born first), then the 2025 result, then the 2026 one.
            #expect(seen == ["Patient/\(id)", "Observation/\(observationIDs[1])", "Observation/\(observationIDs[0])"])
            #expect(try await hub.send("GET", "/fhir/Patient/unknown/$everything", presenting: pki).status == 404)
        }
    }
}

@Suite struct FHIRHistoryTests {
    @Test func typeAndSystemHistoryWithSinceAndPaging() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let json = FHIRResourceRoutesTests.json
            var ids: [String] = []
            for index in 0..<3 {
                let body = Array(#"{"resourceType":"Organization","name":"医院\#(index)"}"#.utf8)
                ids.append(
                    try #require(
                        try jsonObject(try await hub.send("POST", "/fhir/Organization", headers: json, body: body, presenting: pki))["id"] as? String)
                )
            }
            try await Task.sleep(for: .milliseconds(20))
            let since = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            _ = try await hub.send("DELETE", "/fhir/Organization/\(ids[0])", presenting: pki)
            var patients = SyntheticPatients(seed: 5)
            _ = try await hub.send("POST", "/fhir/Patient", headers: json, body: Array(patients.patientJSON().utf8), presenting: pki)

            // Type history pages through all four Organization versions, newest first.
            var methods: [String] = []
            var path: String? = "/fhir/Organization/_history?_count=3"
            while let current = path {
                let page = try jsonObject(try await hub.send("GET", current, presenting: pki))
                #expect(page["type"] as? String == "history")
                methods += ((page["entry"] as? [[String: Any]]) ?? []).compactMap { ($0["request"] as? [String: Any])?["method"] as? String }
                let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
            }
            #expect(methods == ["DELETE", "POST", "POST", "POST"])

            // System history since the deletion: the deletion and the Patient.
            let recent = try jsonObject(
                try await hub.send("GET", "/fhir/_history?_since=\(since.replacingOccurrences(of: "+", with: "%2B"))", presenting: pki))
            let types = ((recent["entry"] as? [[String: Any]]) ?? []).compactMap {
                ($0["fullUrl"] as? String)?.components(separatedBy: "/fhir/").last?.components(separatedBy: "/").first
            }
            #expect(types == ["Patient", "Organization"])
            #expect(try await hub.send("GET", "/fhir/_history?_since=yesterday", presenting: pki).status == 400)
        }
    }
}

@Suite struct FHIRTimeoutTests {
    /// Runs `body` against a hub with a one-second database deadline while another session holds
    /// `tables` locked; the lock is released once `body` returns. `prepare` runs before the lock.
    static func withLocked<Prepared: Sendable>(
        _ tables: String,
        prepare: @escaping @Sendable (RunningHub) async throws -> Prepared,
        _ body: @escaping @Sendable (RunningHub, Prepared) async throws -> Void
    ) async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.database.operationTimeoutSeconds = 1
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let prepared = try await prepare(hub)
                let blocker = try TestDatabase.database(url)
                try await blocker.whileRunning {
                    try await blocker.withTransaction("hold a lock") { connection in
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "LOCK TABLE \(tables) IN ACCESS EXCLUSIVE MODE"), logger: makeTestLogger("test.sql"))
                        try await body(hub, prepared)
                    }
                }
                // Released, the hub answers again.
                #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: try TestEnvironment.pki()).status == 200)
            }
        }
    }

    /// A search held up past the database deadline (here by a lock another session holds) is
    /// cancelled by PostgreSQL's statement timeout and answered 503 with an OperationOutcome.
    @Test func aSearchHeldPastTheDeadlineIsAnswered503() async throws {
        let pki = try TestEnvironment.pki()
        try await Self.withLocked("resources", prepare: { _ in () }) { hub, _ in
            // The lock is held until the reply is in: a 503 can only come from the deadline
            // (without it the search would wait for the lock until the client gave up). How long
            // it took is not asserted: on a loaded machine that measures the machine, not the hub.
            let reply = try await hub.send("GET", "/fhir/Patient?gender=male", presenting: pki)
            #expect(reply.status == 503, "\(reply.text)")
            #expect(reply.header("retry-after") != nil)
            #expect(try jsonObject(reply)["resourceType"] as? String == "OperationOutcome")
        }
    }

    /// When the credentials cannot be checked (the identity tables are locked past the deadline),
    /// the answer is 503 with Retry-After and an OperationOutcome — not a bare 500, and not a
    /// refusal that would tell a hospital its token or certificate is bad.
    @Test func aDatabaseFailureWhileAuthenticatingIsAnswered503() async throws {
        let pki = try TestEnvironment.pki()
        try await Self.withLocked("access_tokens, principals", prepare: { hub in try await hub.token(for: TestHub.Identities.clinician) }) {
            hub, token in
            for (name, reply) in [
                ("bearer token", try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token)),
                ("certificate", try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki)),
            ] {
                #expect(reply.status == 503, "\(name): \(reply.status) \(reply.text)")
                #expect(reply.header("retry-after") != nil, "\(name)")
                #expect((try? jsonObject(reply))?["resourceType"] as? String == "OperationOutcome", "\(name): \(reply.text)")
            }
        }
    }
}
