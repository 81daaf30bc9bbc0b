import Foundation
import HubClient
import HubConfig
import HubCrypto
import HubTestSupport
import Testing

/// Every role × interaction × own/other organization × with/without care relationship, consent
/// and break-glass, over HTTPS against the real store (issue #5's "done when").
///
/// Hospital A (`test-hospital`) registers six patients, each with one lab result; hospital B
/// (`other-hospital`) registers one of its own. Then:
/// - P1: A only — B has no relationship.
/// - P3: B registers the patient too (by the resident ID card): a care relationship.
/// - P4: the patient's Consent permits sharing with B by name.
/// - P5: B registers the patient, but the patient's Consent denies sharing with everyone: B sees
///   the Patient (to identify them) and nothing else of A's.
/// - P6: B's clinician declares an emergency (break-glass) for this patient.
/// - PB: B's own patient, which A cannot see.
@Suite struct AuthorizationMatrixTests {
    static let json = [("Content-Type", "application/fhir+json")]

    /// Who calls, and how.
    struct Caller: Sendable, CustomStringConvertible {
        var name: String
        var certificate: TestPKI?
        var token: String?
        var headers: [(String, String)] = []
        var description: String { self.name }
    }

    /// What a caller should get for one patient's records.
    enum Expected: Equatable {
        /// Everything: the Patient, the result, writes.
        case full
        /// The Patient only (a consent denies sharing the rest).
        case identityOnly
        /// Nothing exists for it.
        case none
    }

    @Test func everyRoleInteractionAndBasisIsDecidedAsSpecified() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 77)
            let hospitalA = Caller(name: "system A", certificate: pki)
            let hospitalB = Caller(name: "system B", certificate: pki.otherHospital)

            // Records: six of A's patients and one of B's, one lab result each.
            var patients: [String: String] = [:]
            var results: [String: String] = [:]
            var residentIDs: [String: String] = [:]
            var persons: [String: SyntheticPatients.Person] = [:]
            for (number, name) in ["P1", "P3", "P4", "P5", "P6", "PB"].enumerated() {
                let owner = name == "PB" ? hospitalB : hospitalA
                let person = people.person(number: number)
                residentIDs[name] = person.residentID
                persons[name] = person
                let created = try await Self.send(hub, owner, "POST", "/fhir/Patient", body: people.patientJSON(person))
                #expect(created.status == 201)
                let id = try #require(try jsonObject(created)["id"] as? String)
                patients[name] = id
                let observation = try await Self.send(
                    hub, owner, "POST", "/fhir/Observation",
                    body: people.observationJSON(test: LabTest.common[0], patient: "Patient/\(id)", day: "2026-11-0\(number + 1)")
                )
                #expect(observation.status == 201)
                results[name] = try #require(try jsonObject(observation)["id"] as? String)
            }
            // B registers P3 and P5 by their resident ID cards: care relationships.
            for name in ["P3", "P5"] {
                let person = try #require(persons[name], "drawn once: person(number:) draws the gender afresh")
                let registered = try await Self.send(
                    hub, hospitalB, "POST", "/fhir/Patient", body: people.patientJSON(person),
                    headers: [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(residentIDs[name] ?? "")")]
                )
                #expect(registered.status == 200, "\(String(decoding: registered.body, as: UTF8.self))")
                #expect(try jsonObject(registered)["id"] as? String == patients[name])
            }
            // Consents, recorded by A: P4 permits B; P5 denies sharing with everyone.
            for (name, provision) in [
                (
                    "P4",
                    #"{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/other-hospital"}}]}"#
                ),
                ("P5", #"{"type":"deny"}"#),
            ] {
                let consent = try await Self.send(
                    hub, hospitalA, "POST", "/fhir/Consent", body: Self.consent(patient: patients[name] ?? "", provision: provision))
                #expect(consent.status == 201, "\(String(decoding: consent.body, as: UTF8.self))")
            }

            // The callers.
            let clinicianA = Caller(name: "clinician A", token: try await hub.token(for: TestHub.Identities.clinician))
            let clinicianB = Caller(name: "clinician B", token: try await hub.token(for: TestHub.Identities.otherClinician))
            let glass = try await Self.send(
                hub, clinicianB, "POST", "/auth/break-glass",
                body: #"{"patient":"\#(patients["P6"] ?? "")","reason":"unconscious patient in the emergency room, no relatives"}"#,
                headers: [("Content-Type", "application/json")]
            )
            #expect(glass.status == 200)
            // A declaration without a patient, or without a real reason, is refused.
            for body in [#"{"reason":"unconscious patient in the emergency room"}"#, #"{"patient":"\#(patients["P6"] ?? "")","reason":"urgent"}"#] {
                let refused = try await Self.send(
                    hub, clinicianB, "POST", "/auth/break-glass", body: body, headers: [("Content-Type", "application/json")])
                #expect(refused.status == 400, "\(body)")
            }
            let emergencyB = Caller(name: "clinician B, break-glass for P6", token: try #require(try jsonObject(glass)["access_token"] as? String))
            let onBehalf = Caller(name: "system A for clinician A", certificate: pki, headers: [("X-On-Behalf-Of", TestHub.Identities.clinician)])
            let regulator = Caller(name: "regulator", certificate: pki.regulator)
            let administrator = Caller(name: "administrator", token: try await hub.token(for: TestHub.Identities.administrator))
            let anonymous = Caller(name: "anonymous")

            // The rule, spelled out per caller and patient.
            let all: [String] = ["P1", "P3", "P4", "P5", "P6", "PB"]
            func expected(_ organizationB: Bool, emergency: Bool = false) -> [String: Expected] {
                var table: [String: Expected] = [:]
                for name in all {
                    if !organizationB {
                        table[name] = name == "PB" ? Expected.none : .full
                    } else {
                        switch name {
                        case "PB", "P3", "P4": table[name] = .full
                        case "P5": table[name] = .identityOnly
                        case "P6": table[name] = emergency ? .full : Expected.none
                        default: table[name] = Expected.none
                        }
                    }
                }
                return table
            }
            let clinical: [(Caller, [String: Expected])] = [
                (hospitalA, expected(false)), (clinicianA, expected(false)), (onBehalf, expected(false)),
                (hospitalB, expected(true)), (clinicianB, expected(true)), (emergencyB, expected(true, emergency: true)),
            ]
            var checked = 0
            for (caller, table) in clinical {
                let visibleResults = all.filter { table[$0] == .full }.count
                let count = try jsonObject(try await Self.send(hub, caller, "GET", "/fhir/Observation?_summary=count"))
                #expect(count["total"] as? Int == visibleResults, "\(caller): Observation count")
                let paged = try jsonObject(try await Self.send(hub, caller, "GET", "/fhir/Observation?_count=2&_total=accurate"))
                #expect(paged["total"] as? Int == visibleResults, "\(caller): total with paging")
                for name in all {
                    let expectation = table[name] ?? Expected.none
                    let patient = patients[name] ?? ""
                    let patientStatus = try await Self.send(hub, caller, "GET", "/fhir/Patient/\(patient)").status
                    #expect(patientStatus == (expectation == .none ? 404 : 200), "\(caller) reads Patient \(name)")
                    let resultStatus = try await Self.send(hub, caller, "GET", "/fhir/Observation/\(results[name] ?? "")").status
                    #expect(resultStatus == (expectation == .full ? 200 : 404), "\(caller) reads \(name)'s result")
                    let search = try jsonObject(
                        try await Self.send(hub, caller, "GET", "/fhir/Observation?subject=Patient/\(patient)&_total=accurate"))
                    #expect(search["total"] as? Int == (expectation == .full ? 1 : 0), "\(caller) searches \(name)'s results")
                    let everything = try await Self.send(hub, caller, "GET", "/fhir/Patient/\(patient)/$everything")
                    #expect(everything.status == (expectation == .none ? 404 : 200), "\(caller) asks \(name)'s $everything")
                    if expectation == .identityOnly {
                        let entries = (try jsonObject(everything)["entry"] as? [[String: Any]]) ?? []
                        #expect(entries.count == 1, "\(caller) sees only \(name)'s Patient in $everything")
                    }
                    let history = try await Self.send(hub, caller, "GET", "/fhir/Observation/\(results[name] ?? "")/_history")
                    #expect(history.status == (expectation == .full ? 200 : 404), "\(caller) reads \(name)'s result history")
                    let write = try await Self.send(
                        hub, caller, "POST", "/fhir/Observation",
                        body: people.observationJSON(test: LabTest.common[1], patient: "Patient/\(patient)", day: "2026-11-20")
                    )
                    // Writing needs the patient to be visible: under a consent that denies
                    // sharing, the treating hospital still documents its own care.
                    let mayWrite = expectation != .none
                    #expect(write.status == (mayWrite ? 201 : 403), "\(caller) writes a result for \(name)")
                    if mayWrite, let id = try jsonObject(write)["id"] as? String {
                        #expect(try await Self.send(hub, caller, "DELETE", "/fhir/Observation/\(id)").status == 204)
                    }
                    checked += 7
                }
                // Audit and administration are not theirs.
                #expect(try await Self.send(hub, caller, "GET", "/fhir/AuditEvent").status == 403, "\(caller): AuditEvent")
                #expect(try await Self.send(hub, caller, "GET", "/audit/checkpoint").status == 403, "\(caller): checkpoint")
                #expect(try await Self.send(hub, caller, "GET", "/admin/organizations").status == 403, "\(caller): admin")
            }
            // Regulators and administrators: never clinical content; each their own API.
            for (caller, audit, admin) in [(regulator, 200, 403), (administrator, 403, 200), (anonymous, 401, 401)] {
                let clinicalStatus = anonymous.name == caller.name ? 401 : 403
                for name in all {
                    #expect(
                        try await Self.send(hub, caller, "GET", "/fhir/Patient/\(patients[name] ?? "")").status == clinicalStatus,
                        "\(caller) reads \(name)")
                }
                #expect(try await Self.send(hub, caller, "GET", "/fhir/Observation").status == clinicalStatus, "\(caller) searches")
                #expect(
                    try await Self.send(
                        hub, caller, "POST", "/fhir/Observation",
                        body: people.observationJSON(
                            test: LabTest.common[1], patient: "Patient/\(patients["P1"] ?? "")", day: "2026-11-20")
                    ).status == clinicalStatus, "\(caller) writes")
                #expect(try await Self.send(hub, caller, "GET", "/fhir/AuditEvent").status == audit, "\(caller): AuditEvent")
                #expect(try await Self.send(hub, caller, "POST", "/audit/checkpoint").status == audit, "\(caller): checkpoint")
                #expect(try await Self.send(hub, caller, "GET", "/admin/organizations").status == admin, "\(caller): admin")
                checked += all.count + 5
            }
            // A clinician of another organization cannot be acted for; a clinician's token cannot act for anyone.
            let foreign = Caller(name: "system A for clinician B", certificate: pki, headers: [("X-On-Behalf-Of", TestHub.Identities.otherClinician)])
            #expect(try await Self.send(hub, foreign, "GET", "/fhir/Patient/\(patients["P1"] ?? "")").status == 403)
            // Scopes narrow what a token may do: read-only Patient access.
            let narrow = Caller(
                name: "clinician A, Patient.read", token: try await hub.token(for: TestHub.Identities.clinician, scopes: ["user/Patient.read"]))
            #expect(try await Self.send(hub, narrow, "GET", "/fhir/Patient/\(patients["P1"] ?? "")").status == 200)
            #expect(try await Self.send(hub, narrow, "GET", "/fhir/Observation/\(results["P1"] ?? "")").status == 403)
            #expect(try await Self.send(hub, narrow, "GET", "/fhir/Observation").status == 403)
            #expect(try await Self.send(hub, narrow, "POST", "/fhir/Patient", body: people.patientJSON()).status == 403)
            // A bundle is checked entry by entry.
            let bundle =
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Observation/\#(results["P1"] ?? "")"}}]}"#
            #expect(try await Self.send(hub, narrow, "POST", "/fhir", body: bundle).status == 403)
            let batchB =
                #"{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/\#(results["P1"] ?? "")"}}]}"#
            let batch = try jsonObject(try await Self.send(hub, hospitalB, "POST", "/fhir", body: batchB))
            let batchStatus = ((batch["entry"] as? [[String: Any]])?.first?["response"] as? [String: Any])?["status"] as? String
            #expect(batchStatus?.hasPrefix("404") == true)
            // A revoked token is refused.
            let revoked = Caller(name: "revoked", token: try await hub.token(for: TestHub.Identities.clinician))
            #expect(try await Self.send(hub, revoked, "POST", "/auth/revoke").status == 204)
            #expect(try await Self.send(hub, revoked, "GET", "/fhir/Patient/\(patients["P1"] ?? "")").status == 401)
            // Deactivating a client locks it out at once.
            #expect(
                try await Self.send(
                    hub, administrator, "PATCH", "/admin/principals/\(TestHub.Identities.otherSystem)",
                    body: #"{"active":false}"#, headers: [("Content-Type", "application/json")]
                ).status == 200)
            #expect(try await Self.send(hub, hospitalB, "GET", "/fhir/Patient/\(patients["PB"] ?? "")").status == 401)

            // The trail: denials recorded, break-glass flagged, the clinician named.
            var records: [[String: Any]] = []
            var path: String? = "/fhir/AuditEvent?_count=1000"
            while let current = path {
                let page = try jsonObject(try await Self.send(hub, regulator, "GET", current))
                records += ((page["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
                let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
            }
            let text = records.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            #expect(text.contains { $0.contains("ETREAT") && $0.contains("unconscious patient") && $0.contains(patients["P6"] ?? "-") })
            #expect(text.contains { $0.contains(#""outcome":"4""#) && $0.contains(TestHub.Identities.otherSystem) })
            #expect(text.contains { $0.contains(TestHub.Identities.clinician) && $0.contains(TestHub.Identities.system) })
            #expect(checked > 250)
        }
    }

    static func consent(patient: String, provision: String) -> String {
        #"""
        {"resourceType":"Consent","status":"active",
         "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
         "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
         "patient":{"reference":"Patient/\#(patient)"},
         "policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]},
         "provision":\#(provision)}
        """#
    }

    static func send(
        _ hub: RunningHub, _ caller: Caller, _ method: String, _ path: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> HubClient.Reply {
        try await hub.send(
            method, path,
            headers: (body != nil && !headers.contains { $0.0 == "Content-Type" } ? Self.json : []) + headers + caller.headers,
            body: body.map { Array($0.utf8) },
            presenting: caller.certificate,
            bearer: caller.token
        )
    }
}
