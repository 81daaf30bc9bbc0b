import Foundation
import HubClient
import HubConfig
import HubResources
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

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
            // What is there before (the directory's Organizations): afterwards, exactly that.
            var before: [String: Int] = [:]
            for type in ["Patient", "Organization", "Observation", "DiagnosticReport"] {
                before[type] = try jsonObject(try await hub.send("GET", "/fhir/\(type)?_summary=count", presenting: pki))["total"] as? Int
            }
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
                #expect(count["total"] as? Int == before[type], "\(type)")
            }
        }
    }

    /// `ifNoneExist` inside a transaction: a match stands for the entry (references to its
    /// fullUrl resolve to it, nothing is written for it), more than one fails the whole
    /// transaction, and it is a POST's only.
    @Test func conditionalCreatesInsideATransaction() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 818)
            let person = patients.person()
            var entries = Self.labResults(patient: patients.patientJSON(person))
            entries[0] = entries[0].replacingOccurrences(
                of: #""request":{"method":"POST","url":"Patient"}"#,
                with: #""request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:health-hub:sid:resident-id|\#(person.residentID)"}"#)
            let first = try jsonObject(
                try await hub.send("POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", entries), presenting: pki)
            )
            let firstStatuses = ((first["entry"] as? [[String: Any]]) ?? []).compactMap { ($0["response"] as? [String: Any])?["status"] as? String }
            #expect(firstStatuses == ["201 Created", "201 Created", "201 Created"], "\(first)")
            // Again: the Patient is found, not created, and the new results name it.
            let second = try jsonObject(
                try await hub.send("POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", entries), presenting: pki)
            )
            let responses = ((second["entry"] as? [[String: Any]]) ?? []).compactMap { $0["response"] as? [String: Any] }
            #expect(responses.compactMap { $0["status"] as? String } == ["200 OK", "201 Created", "201 Created"], "\(second)")
            let patientLocation = try #require(responses.first?["location"] as? String)
            let patientCount = try jsonObject(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki))
            #expect(patientCount["total"] as? Int == 1)
            let observations = try jsonObject(
                try await hub.send(
                    "GET", "/fhir/Observation?_summary=count&subject=\(patientLocation.split(separator: "/").dropLast(2).last ?? "")", presenting: pki
                ))
            #expect(observations["total"] as? Int == 2)
            // Criteria matching two: 412, and nothing of the transaction is written.
            let two = [
                #"{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]}},"request":{"method":"POST","url":"Observation","ifNoneExist":"code=2345-7"}}"#,
                #"{"resource":{"resourceType":"Organization","name":"不应写入"},"request":{"method":"POST","url":"Organization"}}"#,
            ]
            let refused = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", two), presenting: pki)
            #expect(refused.status == 412, "\(refused.text)")
            let organizations = try jsonObject(try await hub.send("GET", "/fhir/Organization?name=不应写入&_summary=count", presenting: pki))
            #expect(organizations["total"] as? Int == 0)
            // Only a POST's.
            let misplaced = [#"{"request":{"method":"DELETE","url":"Organization/x","ifNoneExist":"name=x"}}"#]
            #expect(
                try await hub.send(
                    "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("transaction", misplaced), presenting: pki
                )
                .status == 400)
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

    /// GET entries as integration engines send them: searches (answered as searchset Bundles,
    /// as the search interaction answers), versions, and reads with `ifNoneMatch` /
    /// `ifModifiedSince` (304 without the resource when the copy is current).
    @Test func getEntriesSearchReadVersionsAndAnswerNotModified() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 919, presenting: pki)
            let setup = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json,
                body: Self.bundle(
                    "transaction",
                    [
                        #"{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/\#(patient)"},"valueQuantity":{"value":6.1,"unit":"mmol/L"}},"request":{"method":"POST","url":"Observation"}}"#,
                        // Reads run after the writes: the search finds what the POST created.
                        #"{"request":{"method":"GET","url":"Observation?patient=Patient/\#(patient)&code=http://loinc.org%7C2345-7&_summary=true"}}"#,
                    ]), presenting: pki)
            #expect(setup.status == 200, "\(setup.text)")
            let setupEntries = try #require(try jsonObject(setup)["entry"] as? [[String: Any]])
            let searched = try #require(setupEntries.last?["resource"] as? [String: Any])
            #expect(searched["type"] as? String == "searchset")
            #expect((searched["entry"] as? [[String: Any]])?.count == 1)

            let entries = [
                #"{"request":{"method":"GET","url":"Observation?patient=\#(patient)&_count=5"}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)","ifNoneMatch":"W/\"1\""}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)","ifNoneMatch":"W/\"9\""}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)","ifModifiedSince":"2099-01-01T00:00:00Z"}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)","ifModifiedSince":"Sat, 01 Jan 2000 00:00:00 GMT"}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)/_history/1"}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)/_history/7"}}"#,
                #"{"request":{"method":"GET","url":"Observation?no-such-parameter=1"}}"#,
                #"{"request":{"method":"GET","url":"Patient"}}"#,
                #"{"resource":{"resourceType":"Organization","name":"乙医院"},"request":{"method":"POST","url":"Organization","ifNoneMatch":"*"}}"#,
            ]
            let reply = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("batch", entries), presenting: pki)
            #expect(reply.status == 200, "\(reply.text)")
            let answered = try #require(try jsonObject(reply)["entry"] as? [[String: Any]])
            let statuses = answered.map { ($0["response"] as? [String: Any])?["status"] as? String ?? "" }
            #expect(
                statuses == [
                    "200 OK", "304 Not Modified", "200 OK", "304 Not Modified", "200 OK", "200 OK", "404 Not Found", "400 Bad Request", "200 OK",
                    "400 Bad Request",
                ], "\(statuses)")
            let results = try #require(answered[0]["resource"] as? [String: Any])
            #expect((results["entry"] as? [[String: Any]])?.count == 1)
            #expect(answered[1]["resource"] == nil && (answered[1]["response"] as? [String: Any])?["etag"] as? String == "W/\"1\"")
            #expect((answered[2]["resource"] as? [String: Any])?["id"] as? String == patient)
            #expect(((answered[5]["resource"] as? [String: Any])?["meta"] as? [String: Any])?["versionId"] as? String == "1")
            let everyone = try #require(answered[8]["resource"] as? [String: Any])
            #expect(everyone["type"] as? String == "searchset" && (everyone["entry"] as? [[String: Any]])?.isEmpty == false)

            // A deleted version is gone, as a vread says; conditions belong to reads; an instant
            // is compared at its milliseconds; searches are bounded per Bundle.
            let organization = try jsonObject(
                try await hub.send(
                    "POST", "/fhir/Organization", headers: FHIRResourceRoutesTests.json,
                    body: Array(#"{"resourceType":"Organization","name":"丙医院"}"#.utf8),
                    presenting: pki))
            let organizationID = try #require(organization["id"] as? String)
            let lastModified = try #require((organization["meta"] as? [String: Any])?["lastUpdated"] as? String)
            _ = try await hub.send("DELETE", "/fhir/Organization/\(organizationID)", presenting: pki)
            let more = [
                #"{"request":{"method":"GET","url":"Organization/\#(organizationID)/_history/2"}}"#,
                #"{"request":{"method":"GET","url":"Observation?patient=\#(patient)","ifNoneMatch":"*"}}"#,
                #"{"request":{"method":"GET","url":"Organization/\#(organizationID)/_history/1","ifModifiedSince":"\#(lastModified)"}}"#,
                #"{"request":{"method":"GET","url":"Patient/\#(patient)","ifModifiedSince":"2026"}}"#,
            ]
            let second = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("batch", more), presenting: pki)
            let secondStatuses = try #require(try jsonObject(second)["entry"] as? [[String: Any]]).map {
                ($0["response"] as? [String: Any])?["status"] as? String ?? ""
            }
            #expect(secondStatuses == ["410 Gone", "400 Bad Request", "304 Not Modified", "200 OK"], "\(secondStatuses)")
            let searches = (0...BundleProcessor.maximumSearchEntries).map { _ in
                #"{"request":{"method":"GET","url":"Observation?patient=\#(patient)"}}"#
            }
            let tooMany = try await hub.send(
                "POST", "/fhir", headers: FHIRResourceRoutesTests.json, body: Self.bundle("batch", searches), presenting: pki)
            #expect(tooMany.status == 400, "\(tooMany.text)")
        }
    }
}
