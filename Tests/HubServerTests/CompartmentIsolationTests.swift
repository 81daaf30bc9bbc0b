import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Attacks on the patient compartment, as another hospital would make them (issue #14, items 1
/// and 2): a record names its patient in a legal but unusual form, or in another compartment
/// element, and hospital B — with no relationship to the patient — tries to find it by every
/// read path; or B tries to file records under A's patient. Every record that names the patient
/// must be in the patient's compartment (invisible to B) or refused; none may become public.
@Suite struct CompartmentIsolationTests {
    static let base = "https://hub.test"

    @Test func everyReferenceFormAndCompartmentElementKeepsTheRecordInThePatientsCompartment() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.server.publicURL = Self.base
        }) { hub in
            var people = SyntheticPatients(seed: 1414)
            func send(_ certificate: TestPKI, _ method: String, _ path: String, _ body: String? = nil) async throws -> HubClient.Reply {
                try await hub.send(
                    method, path, headers: body == nil ? [] : [("Content-Type", "application/fhir+json")],
                    body: body.map { Array($0.utf8) }, presenting: certificate
                )
            }
            let hospitalA = pki
            let hospitalB = pki.otherHospital
            let created = try await send(hospitalA, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 0)))
            #expect(created.status == 201)
            let victim = try #require(try jsonObject(created)["id"] as? String)
            let second = try await send(hospitalA, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 1)))
            let other = try #require(try jsonObject(second)["id"] as? String)

            let absolute = "\(Self.base)/fhir/Patient/\(victim)"
            let code = #""code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}],"text":"血糖"}"#
            // Records A writes about the victim, each naming the patient in another way.
            let records: [(name: String, type: String, json: String)] = [
                (
                    "absolute subject", "Observation",
                    #"{"resourceType":"Observation","status":"final",\#(code),"subject":{"reference":"\#(absolute)"}}"#
                ),
                (
                    "versioned absolute subject", "Observation",
                    #"{"resourceType":"Observation","status":"final",\#(code),"subject":{"reference":"\#(absolute)/_history/1"}}"#
                ),
                ("absolute Condition", "Condition", #"{"resourceType":"Condition","subject":{"reference":"\#(absolute)"}}"#),
                (
                    "absolute Encounter", "Encounter",
                    #"{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"\#(absolute)"}}"#
                ),
                (
                    "absolute AllergyIntolerance", "AllergyIntolerance",
                    #"{"resourceType":"AllergyIntolerance","patient":{"reference":"\#(absolute)/_history/1"}}"#
                ),
                (
                    "performer only", "Observation",
                    #"{"resourceType":"Observation","status":"final",\#(code),"performer":[{"reference":"Patient/\#(victim)"}]}"#
                ),
                (
                    "Provenance target", "Provenance",
                    #"{"resourceType":"Provenance","target":[{"reference":"Patient/\#(victim)"}],"recorded":"2026-11-30T10:00:00.123+08:00","agent":[{"who":{"reference":"Organization/test-hospital"}}]}"#
                ),
                (
                    "DocumentReference author", "DocumentReference",
                    #"{"resourceType":"DocumentReference","status":"current","author":[{"reference":"Patient/\#(victim)"}],"content":[{"attachment":{"contentType":"text/plain","data":"5L2g5aW9"}}]}"#
                ),
                (
                    "Composition author", "Composition",
                    #"{"resourceType":"Composition","status":"final","type":{"text":"自述"},"date":"2026-11-30","author":[{"reference":"\#(absolute)"}],"title":"自述"}"#
                ),
                ("Schedule actor", "Schedule", #"{"resourceType":"Schedule","actor":[{"reference":"Patient/\#(victim)"}]}"#),
                (
                    "AllergyIntolerance asserter", "AllergyIntolerance",
                    #"{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/\#(victim)"},"asserter":{"reference":"\#(absolute)"}}"#
                ),
            ]
            for record in records {
                let written = try await send(hospitalA, "POST", "/fhir/\(record.type)", record.json)
                #expect(written.status == 201, "\(record.name): \(written.text)")
                let id = try #require(try jsonObject(written)["id"] as? String)
                // Stored in the canonical form.
                #expect(!written.text.contains(Self.base), "\(record.name): stored with the absolute URL: \(written.text)")
                // A sees it; B finds nothing by any path.
                #expect(try await send(hospitalA, "GET", "/fhir/\(record.type)/\(id)").status == 200, "\(record.name)")
                #expect(try await send(hospitalB, "GET", "/fhir/\(record.type)/\(id)").status == 404, "\(record.name): B reads it")
                #expect(try await send(hospitalB, "GET", "/fhir/\(record.type)/\(id)/_history/1").status == 404, "\(record.name): B vreads it")
                #expect(try await send(hospitalB, "GET", "/fhir/\(record.type)/\(id)/_history").status == 404, "\(record.name): B reads its history")
                for query in ["_id=\(id)", "_lastUpdated=ge2020-01-01"] {
                    let found = try await send(hospitalB, "GET", "/fhir/\(record.type)?\(query)")
                    #expect(found.status == 200)
                    let ids = ((try jsonObject(found)["entry"] as? [[String: Any]]) ?? []).compactMap {
                        ($0["resource"] as? [String: Any])?["id"] as? String
                    }
                    #expect(!ids.contains(id), "\(record.name): B finds it with \(query)")
                }
                let history = try await send(hospitalB, "GET", "/fhir/\(record.type)/_history")
                #expect(!history.text.contains(id), "\(record.name): B finds it in the type's history")
            }
            // Searching by patient finds the canonicalised records for A.
            let byPatient = try await send(hospitalA, "GET", "/fhir/Observation?patient=\(victim)")
            #expect(((try jsonObject(byPatient)["entry"] as? [[String: Any]]) ?? []).count == 2, "\(byPatient.text)")

            // Forms that name a patient the hub cannot resolve are refused, never stored as public.
            let refused: [(name: String, subject: String)] = [
                ("another server's patient", #"{"reference":"https://127.0.0.1:9/fhir/Patient/\#(victim)"}"#),
                ("another spelling of the hub", #"{"reference":"\#(hub.url)/fhir/Patient/\#(victim)"}"#),
                ("an unresolved urn", #"{"reference":"urn:uuid:5f1e2c4a-9b7d-4c3e-8a6f-1d2b3c4e5f60"}"#),
                (
                    "a conditional reference",
                    #"{"reference":"Patient?identifier=urn:health-hub:sid:resident-id|\#(people.person(number: 0).residentID)"}"#
                ),
                (
                    "an identifier only",
                    #"{"identifier":{"system":"urn:health-hub:sid:resident-id","value":"\#(people.person(number: 0).residentID)"}}"#
                ),
                ("a display only", #"{"display":"测试患者"}"#),
                ("a typed display", #"{"type":"Patient","display":"测试患者"}"#),
                ("a malformed path", #"{"reference":"Patient/\#(victim)/extra"}"#),
                ("a type that lies", #"{"type":"Practitioner","reference":"Patient/\#(victim)"}"#),
            ]
            for attempt in refused {
                let body = #"{"resourceType":"Observation","status":"final",\#(code),"subject":\#(attempt.subject)}"#
                let answer = try await send(hospitalA, "POST", "/fhir/Observation", body)
                // 400 where the validator already refuses the reference's syntax, 422 for the rest.
                #expect(answer.status == 422 || answer.status == 400, "\(attempt.name): \(answer.text)")
                #expect(answer.text.contains("Observation.subject"), "\(attempt.name): \(answer.text)")
            }
            let contained =
                ##"{"resourceType":"Observation","status":"final",\##(code),"contained":[{"resourceType":"Patient","id":"p","gender":"male"}],"subject":{"reference":"#p"}}"##
            #expect(try await send(hospitalA, "POST", "/fhir/Observation", contained).status == 422)
            let twoPatients =
                #"{"resourceType":"Observation","status":"final",\#(code),"subject":{"reference":"Patient/\#(victim)"},"performer":[{"reference":"Patient/\#(other)"}]}"#
            let split = try await send(hospitalA, "POST", "/fhir/Observation", twoPatients)
            #expect(split.status == 422 && split.text.contains("second patient"), "\(split.text)")
            // The same checks hold inside a transaction Bundle, naming the entry.
            let bundle =
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Condition","subject":{"reference":"Patient/\#(victim)"}},"request":{"method":"POST","url":"Condition"}},{"resource":{"resourceType":"Observation","status":"final",\#(code),"subject":{"display":"测试患者"}},"request":{"method":"POST","url":"Observation"}}]}"#
            let rolledBack = try await send(hospitalA, "POST", "/fhir", bundle)
            #expect(rolledBack.status == 422 && rolledBack.text.contains("entry 1"), "\(rolledBack.text)")

            // B cannot file records under A's patient in any form.
            for reference in ["Patient/\(victim)", absolute, "\(absolute)/_history/1"] {
                let body = #"{"resourceType":"Observation","status":"final",\#(code),"subject":{"reference":"\#(reference)"}}"#
                let answer = try await send(hospitalB, "POST", "/fhir/Observation", body)
                #expect(answer.status == 403 || answer.status == 404, "B writes under A's patient with \(reference): \(answer.status) \(answer.text)")
            }
            // Nothing B tried left a record A can find.
            let all = try await send(hospitalA, "GET", "/fhir/Observation?patient=\(victim)")
            #expect(((try jsonObject(all)["entry"] as? [[String: Any]]) ?? []).count == 2)
        }
    }

    /// Item 3: a chain through a record the caller may not see answers no question about it.
    /// B links its own Observation to A's ServiceRequest (a reference outside any compartment
    /// element: allowed) and asks, through the chain, for the request's code, status and
    /// patient; a chain to B's own request is the control.
    @Test func aChainThroughAnInvisibleRecordMatchesNothing() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1415)
            func send(_ certificate: TestPKI, _ method: String, _ path: String, _ body: String? = nil) async throws -> HubClient.Reply {
                try await hub.send(
                    method, path, headers: body == nil ? [] : [("Content-Type", "application/fhir+json")],
                    body: body.map { Array($0.utf8) }, presenting: certificate
                )
            }
            func id(_ reply: HubClient.Reply) throws -> String { try #require(try jsonObject(reply)["id"] as? String, "\(reply.text)") }
            func count(_ path: String) async throws -> Int {
                let found = try await send(pki.otherHospital, "GET", path)
                #expect(found.status == 200, "\(path): \(found.text)")
                return ((try jsonObject(found)["entry"] as? [[String: Any]]) ?? []).count
            }
            let victim = try id(try await send(pki, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 2))))
            let request = { (patient: String, code: String) in
                #"{"resourceType":"ServiceRequest","status":"active","intent":"order","code":{"coding":[{"system":"http://loinc.org","code":"\#(code)"}]},"subject":{"reference":"Patient/\#(patient)"}}"#
            }
            let secret = try id(try await send(pki, "POST", "/fhir/ServiceRequest", request(victim, "94500-6")))
            let own = try id(try await send(pki.otherHospital, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 3))))
            let ownRequest = try id(try await send(pki.otherHospital, "POST", "/fhir/ServiceRequest", request(own, "2345-7")))
            for target in [secret, ownRequest] {
                let observation =
                    #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(own)"},"basedOn":[{"reference":"ServiceRequest/\#(target)"}]}"#
                #expect(try await send(pki.otherHospital, "POST", "/fhir/Observation", observation).status == 201)
            }
            // Questions about A's request and its patient: no answer.
            for question in [
                "based-on:ServiceRequest.code=http://loinc.org|94500-6", "based-on:ServiceRequest.subject=Patient/\(victim)",
                "based-on:ServiceRequest.status=active&based-on=ServiceRequest/\(secret)",
            ] {
                #expect(try await count("/fhir/Observation?\(question)") == 0, "\(question)")
            }
            // The control: the same chain through B's own request works.
            #expect(try await count("/fhir/Observation?based-on:ServiceRequest.code=http://loinc.org|2345-7") == 1)
            #expect(try await count("/fhir/Observation?based-on:ServiceRequest.intent=order") == 1)
        }
    }
}
