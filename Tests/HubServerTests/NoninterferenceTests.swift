import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Issue #14's noninterference property: what hospital B is answered does not depend on records
/// it may not see. Two hubs hold the same data of B (created in the same order, from the same
/// seed); the first also holds hospital A's patient, who shares B's patient's family name,
/// gender and lab tests, and whose records point at B's practitioner. B then asks both hubs
/// every search parameter, chain, include and reverse include the CapabilityStatement declares,
/// the operations, reads and histories, with references in every form — and writes that must be
/// refused. Every answer (status and body, with B's ids, times and the base normalised) must be
/// the same in both worlds.
///
/// Timings are not asserted here (a unit test must not depend on the machine's load):
/// `ops/bench/noninterference` repeats every read probe in both worlds and reports the ratios of
/// their medians.
@Suite struct NoninterferenceTests {
    static let base = "https://hub.test"
    static let json = [("Content-Type", "application/fhir+json")]

    /// The victim's ids, the same strings in both worlds (in the second they name nothing).
    struct Victim: Sendable {
        var patient = "no-such-patient-0000"
        var observation = "no-such-observation-0000"
        var condition = "no-such-condition-0000"
        var serviceRequest = "no-such-request-0000"
        var residentID = "110105194912310029"
        var name = "王秀英"
    }

    /// B's data: the same in both worlds; returns each resource's id by its label (B0, B1, …).
    static func seedB(_ hub: RunningHub, _ client: HubClient) async throws -> [String: String] {
        var people = SyntheticPatients(seed: 2026_1206)
        var labels: [String: String] = [:]
        func create(_ type: String, _ body: String) async throws -> String {
            let reply = try await client.send("POST", "/fhir/\(type)", headers: Self.json, body: Array(body.utf8))
            let id = try #require(try jsonObject(reply)["id"] as? String, "\(type): \(reply.text)")
            labels["B\(labels.count)"] = id
            return id
        }
        var person = people.person(number: 17)
        person.family = "王"
        person.gender = "female"
        let patient = try await create("Patient", people.patientJSON(person, mrnSystem: "urn:health-hub:sid:mrn:H002"))
        let practitioner = try await create("Practitioner", #"{"resourceType":"Practitioner","name":[{"family":"王","given":["医生"]}]}"#)
        let encounter = try await create(
            "Encounter",
            #"{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/\#(patient)"},"period":{"start":"2026-11-02T08:00:00+08:00"}}"#
        )
        for (index, test) in LabTest.common.prefix(3).enumerated() {
            _ = try await create(
                "Observation",
                people.observationJSON(
                    test: test, patient: "Patient/\(patient)", encounter: "Encounter/\(encounter)", day: "2026-11-0\(index + 2)",
                    performer: "Practitioner/\(practitioner)"))
        }
        _ = try await create(
            "Condition",
            #"{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"E11.9"}]},"subject":{"reference":"Patient/\#(patient)"},"recordedDate":"2026-11-02"}"#
        )
        _ = try await create(
            "AllergyIntolerance", #"{"resourceType":"AllergyIntolerance","code":{"text":"青霉素"},"patient":{"reference":"Patient/\#(patient)"}}"#)
        return labels
    }

    /// B's records that point at the victim's (a derived result, a provenance, a request): in
    /// the second world they point at nothing. Chains and includes through them must answer
    /// alike.
    static func seedBReferences(_ client: HubClient, victim: Victim, labels: inout [String: String]) async throws {
        let patient = try #require(labels["B0"])
        var people = SyntheticPatients(seed: 2026_1207)
        let bodies: [(String, String)] = [
            (
                "Observation",
                people.observationJSON(test: LabTest.common[1], patient: "Patient/\(patient)", day: "2026-11-09").replacingOccurrences(
                    of: #"{"resourceType":"Observation","#,
                    with:
                        #"{"resourceType":"Observation","derivedFrom":[{"reference":"Observation/\#(victim.observation)"}],"basedOn":[{"reference":"ServiceRequest/\#(victim.serviceRequest)"}],"#
                )
            ),
            (
                "Provenance",
                #"{"resourceType":"Provenance","target":[{"reference":"Observation/\#(victim.observation)"},{"reference":"Patient/\#(patient)"}],"recorded":"2026-11-09T08:00:00+08:00","agent":[{"who":{"reference":"Practitioner/\#(labels["B1"] ?? "")"}}]}"#
            ),
            (
                "Condition",
                #"{"resourceType":"Condition","code":{"text":"随访"},"subject":{"reference":"Patient/\#(patient)"},"evidence":[{"detail":[{"reference":"Condition/\#(victim.condition)"}]}]}"#
            ),
        ]
        for (type, body) in bodies {
            let reply = try await client.send("POST", "/fhir/\(type)", headers: Self.json, body: Array(body.utf8))
            labels["B\(labels.count)"] = try #require(try jsonObject(reply)["id"] as? String, "\(type): \(reply.text)")
        }
    }

    /// A's patient and records, invisible to B.
    static func seedVictim(_ hub: RunningHub, pki: TestPKI, practitioner: String) async throws -> Victim {
        var people = SyntheticPatients(seed: 1414)
        var person = people.person(number: 23)
        person.family = "王"
        person.given = "秀英"
        person.gender = "female"
        let client = try hub.client(presenting: pki)
        func create(_ type: String, _ body: String) async throws -> String {
            let reply = try await client.send("POST", "/fhir/\(type)", headers: Self.json, body: Array(body.utf8))
            return try #require(try jsonObject(reply)["id"] as? String, "\(type): \(reply.text)")
        }
        var victim = Victim()
        victim.residentID = person.residentID
        // A telephone and an address too: R4's telecom, phone and address parameters read them.
        victim.patient = try await create(
            "Patient",
            people.patientJSON(person).replacingOccurrences(
                of: #""gender":"#,
                with:
                    #""telecom":[{"system":"phone","value":"\#(Self.victimPhone)"}],"address":[{"city":"杭州市","district":"西湖区","line":["文三路90号"]}],"gender":"#
            ))
        for (index, test) in LabTest.common.prefix(3).enumerated() {
            let id = try await create(
                "Observation",
                people.observationJSON(
                    test: test, patient: "Patient/\(victim.patient)", day: "2026-11-0\(index + 2)", performer: "Practitioner/\(practitioner)"))
            if index == 0 { victim.observation = id }
        }
        victim.serviceRequest = try await create(
            "ServiceRequest",
            #"{"resourceType":"ServiceRequest","status":"active","intent":"order","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"Patient/\#(victim.patient)"}}"#
        )
        victim.condition = try await create(
            "Condition",
            #"{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"E11.9"}]},"subject":{"reference":"Patient/\#(victim.patient)"},"recordedDate":"2026-11-02"}"#
        )
        _ = try await create(
            "Provenance",
            #"{"resourceType":"Provenance","target":[{"reference":"Patient/\#(victim.patient)"}],"recorded":"2026-11-02T08:00:00+08:00","agent":[{"who":{"reference":"Practitioner/\#(practitioner)"}}]}"#
        )
        _ = try await create(
            "AllergyIntolerance", #"{"resourceType":"AllergyIntolerance","code":{"text":"青霉素"},"patient":{"reference":"Patient/\#(victim.patient)"}}"#
        )
        _ = try await create(
            "Consent",
            #"{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/\#(victim.patient)"},"provision":{"type":"deny"}}"#
        )
        try await client.shutdown()
        return victim
    }

    static let victimPhone = "13957112345"

    /// One request of the battery; `{B3}` stands for B's resource labelled B3 in each world.
    struct Probe: Sendable {
        var method = "GET"
        var path: String
        var body: String?
    }

    /// Every probe the CapabilityStatement implies, with the victim's values where a leak would
    /// show.
    static func battery(metadata: [String: Any], victim: Victim) -> [Probe] {
        let resources = ((metadata["rest"] as? [[String: Any]])?.first?["resource"] as? [[String: Any]]) ?? []
        let patientForms = [
            "Patient/\(victim.patient)", victim.patient, "\(Self.base)/fhir/Patient/\(victim.patient)", "Patient/\(victim.patient)/_history/1",
            "Patient/{B0}",
        ]
        var probes: [Probe] = []
        func get(_ path: String) { probes.append(Probe(path: path)) }
        for resource in resources {
            guard let type = resource["type"] as? String else { continue }
            get("/fhir/\(type)?_id=\(victim.patient),\(victim.observation),\(victim.condition)")
            get("/fhir/\(type)?_lastUpdated=ge2000-01-01&_total=accurate")
            get("/fhir/\(type)?_summary=count")
            get("/fhir/\(type)/_history")
            for parameter in (resource["searchParam"] as? [[String: Any]]) ?? [] {
                guard let name = parameter["name"] as? String, let kind = parameter["type"] as? String else { continue }
                let values: [String]
                switch kind {
                case "token":
                    values = ["http://loinc.org|718-7", "urn:health-hub:sid:resident-id|\(victim.residentID)", "female", "E11.9", Self.victimPhone]
                case "string": values = ["王", victim.name, "秀英", "杭州", "文三路90号"]
                case "reference": values = patientForms + [victim.observation, "Observation/\(victim.observation)"]
                case "date": values = ["ge1900-01-01", "2026-11-02"]
                case "quantity": values = ["ge0", "gt100"]
                case "composite": values = ["http://loinc.org|718-7$ge0", "718-7$2026"]
                default: values = ["1"]
                }
                for value in values {
                    let escaped =
                        value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "+&="))) ?? value
                    get("/fhir/\(type)?\(name)=\(escaped)")
                }
                if kind == "string" {
                    get("/fhir/\(type)?\(name):contains=\("秀英".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "")")
                }
                if kind == "reference" {
                    // Chains through the reference to the victim's particulars.
                    for inner in [
                        "name=%E7%8E%8B", "identifier=urn:health-hub:sid:resident-id%7C\(victim.residentID)", "gender=female",
                        "birthdate=ge1900-01-01",
                    ] {
                        get("/fhir/\(type)?\(name):Patient.\(inner)")
                    }
                    for inner in [
                        "Observation.code=718-7", "ServiceRequest.code=718-7", "Condition.code=E11.9",
                        "Observation.subject=Patient/\(victim.patient)",
                    ] {
                        get("/fhir/\(type)?\(name):\(inner)")
                    }
                }
            }
            for include in (resource["searchInclude"] as? [String]) ?? [] { get("/fhir/\(type)?_include=\(include)") }
            for include in (resource["searchRevInclude"] as? [String]) ?? [] { get("/fhir/\(type)?_revinclude=\(include)") }
        }
        // Reverse chains and chains of several links: what they find must not depend on A's
        // records either (A's Observations point at B's practitioner).
        for probe in [
            "Patient?_has:Observation:patient:code=718-7", "Practitioner?_has:Observation:performer:subject=Patient/\(victim.patient)",
            "Practitioner?_has:Observation:performer:patient.name=%E7%8E%8B",
            "Practitioner?_has:Observation:performer:patient.identifier=urn:health-hub:sid:resident-id%7C\(victim.residentID)",
            "Practitioner?_has:Observation:performer:_has:DiagnosticReport:result:status=final",
            "ServiceRequest?_has:Observation:based-on:code=718-7", "Encounter?_has:Observation:encounter:code=718-7",
            "DiagnosticReport?result.patient.name=%E7%8E%8B", "DiagnosticReport?result.performer:Practitioner.name=%E7%8E%8B",
            "Observation?encounter.patient.identifier=urn:health-hub:sid:resident-id%7C\(victim.residentID)",
        ] {
            get("/fhir/\(probe)")
        }
        // Reads, versions and histories of the victim's records and of B's own.
        for record in [
            "Patient/\(victim.patient)", "Observation/\(victim.observation)", "Condition/\(victim.condition)",
            "ServiceRequest/\(victim.serviceRequest)", "Patient/{B0}", "Observation/{B3}",
        ] {
            get("/fhir/\(record)")
            get("/fhir/\(record)/_history")
            get("/fhir/\(record)/_history/1")
            get("/fhir/\(record)/_history?_at=1999")
        }
        get("/fhir/_history")
        for patient in [victim.patient, "{B0}"] {
            get("/fhir/Patient/\(patient)/$everything")
            get("/fhir/Observation/$lastn?patient=\(patient)")
            get("/fhir/Observation/$lastn?patient=Patient/\(patient)&code=http://loinc.org%7C718-7")
        }
        // A Bundle's GET entries search and read through the same rules.
        let gets = [
            "Patient?identifier=urn:health-hub:sid:resident-id%7C\(victim.residentID)", "Observation?patient=Patient/\(victim.patient)",
            "Patient?phone=\(Self.victimPhone)", "Observation?code-value-quantity=http://loinc.org%7C718-7$ge0",
        ].map { #"{"request":{"method":"GET","url":"\#($0)"}}"# }
        let reads = [
            #"{"request":{"method":"GET","url":"Patient/\#(victim.patient)","ifNoneMatch":"*"}}"#,
            #"{"request":{"method":"GET","url":"Patient/\#(victim.patient)/_history/1"}}"#,
            #"{"request":{"method":"GET","url":"Observation/\#(victim.observation)/_history/1","ifModifiedSince":"2000-01-01T00:00:00Z"}}"#,
        ]
        probes.append(
            Probe(
                method: "POST", path: "/fhir", body: #"{"resourceType":"Bundle","type":"batch","entry":[\#((gets + reads).joined(separator: ","))]}"#)
        )
        // :missing and sorts read index rows of the records a caller sees only.
        for query in [
            "Observation?performer:missing=false", "Observation?based-on:missing=true&_sort=-date", "Patient?phone:missing=false",
            "Observation?_sort=-value-quantity,subject", "Observation?_sort=status,-date&_count=2",
            "Practitioner?_has:Observation:performer:subject:missing=false",
        ] {
            get("/fhir/\(query)")
        }
        // Writes that must be refused alike: nothing changes in either world.
        let observation = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(victim.patient)"}}"#
        probes.append(Probe(method: "POST", path: "/fhir/Observation", body: observation))
        probes.append(
            Probe(
                method: "POST", path: "/fhir/Observation",
                body: observation.replacingOccurrences(of: "Patient/\(victim.patient)", with: "\(Self.base)/fhir/Patient/\(victim.patient)")))
        probes.append(
            Probe(
                method: "PUT", path: "/fhir/Observation/\(victim.observation)",
                body: observation.replacingOccurrences(
                    of: #"{"resourceType":"Observation","#, with: #"{"resourceType":"Observation","id":"\#(victim.observation)","#)))
        probes.append(Probe(method: "DELETE", path: "/fhir/Observation/\(victim.observation)"))
        probes.append(Probe(method: "DELETE", path: "/fhir/Patient/\(victim.patient)"))
        return probes
    }

    /// An answer with what legitimately differs between the worlds taken out: B's ids (as
    /// labels), times of writing, the paging links and the order of equal-keyed entries.
    static func normalized(_ reply: HubClient.Reply, labels: [String: String], base: String) -> String {
        var text = reply.text.replacingOccurrences(of: base, with: "BASE").replacingOccurrences(of: Self.base, with: "BASE")
        for (label, id) in labels { text = text.replacingOccurrences(of: id, with: "{\(label)}") }
        guard var value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return "\(reply.status) \(text)"
        }
        func clean(_ value: Any) -> Any {
            if var object = value as? [String: Any] {
                for key in ["lastUpdated", "lastModified", "timestamp", "link", "etag"] { object[key] = nil }
                if object["resourceType"] as? String == "Bundle" { object["id"] = nil }
                for (key, member) in object { object[key] = clean(member) }
                if let entries = object["entry"] as? [Any] {
                    object["entry"] = entries.map {
                        String(decoding: (try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
                    }.sorted()
                }
                return object
            }
            if let array = value as? [Any] { return array.map(clean) }
            return value
        }
        value = clean(value)
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
        return "\(reply.status) \(String(decoding: data, as: UTF8.self))"
    }

    /// How often each probe is repeated to time it: `HUB_NONINTERFERENCE_TIMINGS` (the long
    /// form, `ops/bench/noninterference`); 0 in `ops/test`, which compares answers only.
    static var timingRepetitions: Int { Int(ProcessInfo.processInfo.environment["HUB_NONINTERFERENCE_TIMINGS"] ?? "") ?? 0 }

    /// Median milliseconds of each probe, when timed.
    static func timings(_ client: HubClient, probes: [Probe], labels: [String: String]) async throws -> [Double] {
        let repetitions = Self.timingRepetitions
        guard repetitions > 0 else { return [] }
        var medians: [Double] = []
        for probe in probes where probe.method == "GET" {
            var path = probe.path
            for (label, id) in labels { path = path.replacingOccurrences(of: "{\(label)}", with: id) }
            var times: [Double] = []
            for _ in 0..<repetitions {
                let started = ContinuousClock.now
                _ = try await client.send("GET", path)
                let elapsed = ContinuousClock.now - started
                times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            medians.append(times.sorted()[times.count / 2])
        }
        return medians
    }

    /// The timing report of the long form: per GET probe, the ratio of its median time with
    /// the victim's records to without; written to `HUB_TEST_ARTIFACTS/noninterference-timings.json`.
    static func reportTimings(probes: [Probe], present: [Double], absent: [Double]) throws {
        guard !present.isEmpty, present.count == absent.count, let folder = ProcessInfo.processInfo.environment["HUB_TEST_ARTIFACTS"] else { return }
        let gets = probes.filter { $0.method == "GET" }
        let ratios = zip(present, absent).map { $0 / max($1, 0.001) }
        let sorted = ratios.sorted()
        let outliers = zip(gets, ratios).sorted { abs(log($0.1)) > abs(log($1.1)) }.prefix(10).map {
            ["probe": $0.0.path, "ratio": $0.1] as [String: Any]
        }
        let report: [String: Any] = [
            "probes": ratios.count, "repetitions": Self.timingRepetitions,
            "ratio_median": sorted[sorted.count / 2], "ratio_p1": sorted[sorted.count / 100], "ratio_p99": sorted[sorted.count * 99 / 100],
            "median_ms_with": present.sorted()[present.count / 2], "median_ms_without": absent.sorted()[absent.count / 2],
            "largest_differences": Array(outliers),
        ]
        try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys]).write(
            to: URL(fileURLWithPath: folder + "/noninterference-timings.json"))
    }

    /// B's answers in one world, by probe.
    static func answers(_ hub: RunningHub, client: HubClient, probes: [Probe], labels: [String: String]) async throws -> [String] {
        var answers: [String] = []
        for probe in probes {
            var path = probe.path
            var body = probe.body
            for (label, id) in labels {
                path = path.replacingOccurrences(of: "{\(label)}", with: id)
                body = body?.replacingOccurrences(of: "{\(label)}", with: id)
            }
            let reply = try await client.send(probe.method, path, headers: body == nil ? [] : Self.json, body: body.map { Array($0.utf8) })
            answers.append(Self.normalized(reply, labels: labels, base: hub.url))
        }
        return answers
    }

    @Test func hospitalBsAnswersDoNotDependOnRecordsItCannotSee() async throws {
        let pki = try TestEnvironment.pki()
        let adjust: @Sendable (inout HubConfiguration) -> Void = {
            $0.tls.clientAuthentication = .optional
            $0.server.publicURL = Self.base
        }
        // World 1: B's data and the victim's.
        let (victim, probes, present, presentTimes) = try await withHub(adjust) { hub in
            let client = try hub.client(presenting: pki.otherHospital, timeout: .seconds(30))
            var labels = try await Self.seedB(hub, client)
            let victim = try await Self.seedVictim(hub, pki: pki, practitioner: try #require(labels["B1"]))
            try await Self.seedBReferences(client, victim: victim, labels: &labels)
            let metadata = try jsonObject(try await client.send("GET", "/fhir/metadata"))
            let probes = Self.battery(metadata: metadata, victim: victim)
            let answers = try await Self.answers(hub, client: client, probes: probes, labels: labels)
            let timings = try await Self.timings(client, probes: probes, labels: labels)
            try await client.shutdown()
            return (victim, probes, answers, timings)
        }
        // World 2: B's data alone; the same probes, naming ids that exist nowhere here.
        let (absent, absentTimes) = try await withHub(adjust) { hub in
            let client = try hub.client(presenting: pki.otherHospital, timeout: .seconds(30))
            var labels = try await Self.seedB(hub, client)
            try await Self.seedBReferences(client, victim: victim, labels: &labels)
            let answers = try await Self.answers(hub, client: client, probes: probes, labels: labels)
            let timings = try await Self.timings(client, probes: probes, labels: labels)
            try await client.shutdown()
            return (answers, timings)
        }
        try Self.reportTimings(probes: probes, present: presentTimes, absent: absentTimes)
        #expect(probes.count >= 500, "the battery shrank: \(probes.count)")
        var differences: [String] = []
        for (index, probe) in probes.enumerated() where present[index] != absent[index] {
            differences.append(
                "\(probe.method) \(probe.path)\n  with the victim:    \(present[index].prefix(400))\n  without the victim: \(absent[index].prefix(400))"
            )
        }
        #expect(differences.isEmpty, "\(differences.count) of \(probes.count) answers differ:\n\(differences.prefix(8).joined(separator: "\n"))")
        // The property is not vacuous: B is answered with its own records, and refused its writes.
        #expect(present.filter { $0.hasPrefix("200 ") && $0.contains("{B") }.count >= 50)
        #expect(present.suffix(5).allSatisfy { !$0.hasPrefix("2") }, "\(present.suffix(5))")
        // And nothing of the victim reaches B in either world.
        for answer in present {
            for id in [victim.patient, victim.observation, victim.condition, victim.serviceRequest] {
                #expect(!answer.contains(#""id":"\#(id)""#), "\(answer.prefix(300))")
            }
        }
    }
}
