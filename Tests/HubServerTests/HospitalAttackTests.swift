import Foundation
import HubAudit
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Issue #14's attacks by another hospital that are not about reference forms: registering a
/// patient by other identifiers, keeping access after an emergency, and telling invisible
/// records from missing ones. Hospital A (`test-hospital`) keeps a patient with one lab result;
/// hospital B (`other-hospital`, its system and its clinician) attacks.
///
/// (One file past 400 lines on purpose: the attacks share one set-up, and a reviewer reads the
/// attacker's playbook whole.)
@Suite struct HospitalAttackTests {
    struct Victim {
        /// Drawn once: `person(number:)` draws the gender (a digit of the number) afresh.
        var person: SyntheticPatients.Person
        var patient: String
        var observation: String
        var residentID: String
        var mrn: String
    }

    static func send(
        _ hub: RunningHub, _ method: String, _ path: String, _ body: String? = nil,
        headers: [(String, String)] = [], presenting certificate: TestPKI? = nil, bearer: String? = nil
    ) async throws -> HubClient.Reply {
        try await hub.send(
            method, path,
            headers: (body == nil || headers.contains { $0.0 == "Content-Type" } ? [] : [("Content-Type", "application/fhir+json")]) + headers,
            body: body.map { Array($0.utf8) }, presenting: certificate, bearer: bearer
        )
    }

    static func victim(_ hub: RunningHub, _ people: inout SyntheticPatients, pki: TestPKI) async throws -> Victim {
        let person = people.person(number: 0)
        let json = people.patientJSON(person)
        let created = try await Self.send(hub, "POST", "/fhir/Patient", json, presenting: pki)
        let patient = try #require(try jsonObject(created)["id"] as? String, "\(created.text)")
        let observation = try await Self.send(
            hub, "POST", "/fhir/Observation", people.observationJSON(test: LabTest.common[0], patient: "Patient/\(patient)", day: "2026-11-30"),
            presenting: pki
        )
        let identifiers = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["identifier"] as? [[String: Any]] ?? []
        let mrn = identifiers.first { ($0["system"] as? String)?.contains(":mrn:") == true }
        return Victim(
            person: person, patient: patient, observation: try #require(try jsonObject(observation)["id"] as? String), residentID: person.residentID,
            mrn: "\(mrn?["system"] as? String ?? "")|\(mrn?["value"] as? String ?? "")"
        )
    }

    /// Item 5: registration by resident-ID card matches that one number and nothing else.
    @Test func registrationByIDCardMatchesOnlyThatNumber() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1405)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let unused = people.person(number: 7)
            let body = people.patientJSON(unused)
            let system = "urn:health-hub:sid:resident-id"
            for condition in [
                "identifier=\(system)|\(unused.residentID),\(victim.mrn)",
                "identifier=\(system)|\(unused.residentID),\(system)|\(victim.residentID)",
                "identifier=\(system)|\(victim.residentID)",  // a number the Patient sent does not carry
                "identifier=\(system)|\(unused.residentID)&identifier=\(victim.mrn)",
                "identifier=\(system)|12345",
            ] {
                let answer = try await Self.send(
                    hub, "POST", "/fhir/Patient", body, headers: [("If-None-Exist", condition)], presenting: pki.otherHospital)
                #expect(answer.status == 400, "\(condition): \(answer.status) \(answer.text)")
            }
            // Other identifiers match only what B already sees: nothing of A's.
            let byMRN = try await Self.send(
                hub, "POST", "/fhir/Patient", body, headers: [("If-None-Exist", "identifier=\(victim.mrn)")], presenting: pki.otherHospital)
            #expect(byMRN.status == 201, "\(byMRN.text)")
            #expect(try jsonObject(byMRN)["id"] as? String != victim.patient)
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital).status == 404)
            // The card itself still registers (the patient presents it): the control.
            let card = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(victim.person),
                headers: [("If-None-Exist", "identifier=\(system)|\(victim.residentID)")], presenting: pki.otherHospital
            )
            #expect(card.status == 200, "\(card.text)")
            #expect(try jsonObject(card)["id"] as? String == victim.patient)
        }
    }

    /// Item 6: what a clinician writes under break-glass relates nobody to the patient; once the
    /// emergency token is revoked, B — that clinician's other tokens, B's system — sees nothing.
    @Test func breakGlassLeavesNoLastingAccess() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1406)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let ordinary = try await hub.token(for: TestHub.Identities.otherClinician)
            // An emergency widens which patient, never what the token may do: a read-only token
            // declares one and gets a read-only emergency token.
            let readOnly = try await hub.token(for: TestHub.Identities.otherClinician, scopes: ["user/Observation.read", "user/Patient.read"])
            let narrow = try await Self.send(
                hub, "POST", "/auth/break-glass",
                #"{"patient":"\#(victim.patient)","reason":"unconscious patient in the emergency room, no relatives"}"#,
                headers: [("Content-Type", "application/json")], bearer: readOnly
            )
            #expect(try jsonObject(narrow)["scope"] as? String == "user/Observation.read user/Patient.read", "\(narrow.text)")
            let narrowToken = try #require(try jsonObject(narrow)["access_token"] as? String)
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", bearer: narrowToken).status == 200)
            let write = #"{"resourceType":"Condition","subject":{"reference":"Patient/\#(victim.patient)"}}"#
            #expect(try await Self.send(hub, "POST", "/fhir/Condition", write, bearer: narrowToken).status == 403)
            let declared = try await Self.send(
                hub, "POST", "/auth/break-glass",
                #"{"patient":"\#(victim.patient)","reason":"unconscious patient in the emergency room, no relatives"}"#,
                headers: [("Content-Type", "application/json")], bearer: ordinary
            )
            #expect(declared.status == 200, "\(declared.text)")
            let emergency = try #require(try jsonObject(declared)["access_token"] as? String)
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", bearer: emergency).status == 200)
            let encounter =
                #"{"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER"},"subject":{"reference":"Patient/\#(victim.patient)"}}"#
            #expect(try await Self.send(hub, "POST", "/fhir/Encounter", encounter, bearer: emergency).status == 201)
            // A Consent naming B, written under the emergency, is recorded but opens nothing.
            let selfPermit =
                #"{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/\#(victim.patient)"},"provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/other-hospital"}}]}}"#
            #expect(try await Self.send(hub, "POST", "/fhir/Consent", selfPermit, bearer: emergency).status == 201)
            let revoked = try await Self.send(hub, "POST", "/auth/revoke", bearer: emergency)
            #expect(revoked.status == 200 || revoked.status == 204, "\(revoked.text)")
            let later = try await hub.token(for: TestHub.Identities.otherClinician)
            for (who, bearer, certificate) in [
                ("the emergency token", emergency, nil), ("the clinician's earlier token", ordinary, nil),
                ("the clinician's next token", later, nil), ("B's system", nil, pki.otherHospital),
            ] as [(String, String?, TestPKI?)] {
                let read = try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: certificate, bearer: bearer)
                #expect(read.status == 404 || read.status == 401, "\(who): \(read.status)")
            }
        }
    }

    /// Item 10: changing a record B may not see and changing one that never existed look alike.
    @Test func anInvisibleRecordAndAMissingOneAnswerAlike() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1407)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let missing = UUID().uuidString.lowercased()
            func attempt(_ id: String) async throws -> (Int, String) {
                let body = #"{"resourceType":"Observation","id":"\#(id)","status":"final","code":{"text":"x"}}"#
                let reply = try await Self.send(hub, "PUT", "/fhir/Observation/\(id)", body, presenting: pki.otherHospital)
                return (Int(reply.status), reply.text.replacingOccurrences(of: id, with: "<id>"))
            }
            let invisible = try await attempt(victim.observation)
            let absent = try await attempt(missing)
            #expect(invisible.0 == 404)
            #expect(invisible.0 == absent.0 && invisible.1 == absent.1, "\(invisible) vs \(absent)")
            for method in ["DELETE", "GET"] {
                let one = try await Self.send(hub, method, "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital)
                let other = try await Self.send(hub, method, "/fhir/Observation/\(missing)", presenting: pki.otherHospital)
                #expect(one.status == other.status, "\(method)")
            }
        }
    }

    /// Item 4: the patient's denial holds against the hospital it restricts. B, related to the
    /// patient by registration, records a Consent permitting itself and tries to rewrite or
    /// remove the denial A recorded; only a permit recorded later by someone else — the patient
    /// deciding again, at A — opens the records to B.
    @Test func aDenialHoldsAgainstTheHospitalItRestricts() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1404)
            let victim = try await Self.victim(hub, &people, pki: pki)
            func consent(_ provision: String) -> String {
                #"{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/\#(victim.patient)"},"provision":\#(provision)}"#
            }
            let permitB =
                #"{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/other-hospital"}}]}"#
            let denial = try await Self.send(hub, "POST", "/fhir/Consent", consent(#"{"type":"deny"}"#), presenting: pki)
            #expect(denial.status == 201, "\(denial.text)")
            let denialID = try #require(try jsonObject(denial)["id"] as? String)
            let registered = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(victim.person),
                headers: [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(victim.residentID)")], presenting: pki.otherHospital
            )
            #expect(registered.status == 200, "\(registered.text)")
            func bSees() async throws -> (read: Int, search: Int, everything: Int) {
                let read = try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital)
                let search = try await Self.send(hub, "GET", "/fhir/Observation?patient=\(victim.patient)", presenting: pki.otherHospital)
                let everything = try await Self.send(hub, "GET", "/fhir/Patient/\(victim.patient)/$everything", presenting: pki.otherHospital)
                func observations(_ reply: HubClient.Reply) throws -> Int {
                    ((try jsonObject(reply)["entry"] as? [[String: Any]]) ?? []).filter {
                        ($0["resource"] as? [String: Any])?["resourceType"] as? String == "Observation"
                    }.count
                }
                return (Int(read.status), try observations(search), try observations(everything))
            }
            #expect(try await bSees() == (404, 0, 0))
            // B permits itself: recorded (it may record what a patient tells it), but it does not
            // override a denial another organization recorded.
            #expect(try await Self.send(hub, "POST", "/fhir/Consent", consent(permitB), presenting: pki.otherHospital).status == 201)
            #expect(try await bSees() == (404, 0, 0))
            // B cannot rewrite or remove A's record of the denial.
            let rewrite = consent(permitB).replacingOccurrences(
                of: #"{"resourceType":"Consent","#, with: #"{"resourceType":"Consent","id":"\#(denialID)","#)
            // (Under the denial B does not even see the Consent: 404.)
            for (method, body) in [("PUT", rewrite as String?), ("DELETE", nil)] {
                let status = try await Self.send(hub, method, "/fhir/Consent/\(denialID)", body, presenting: pki.otherHospital).status
                #expect(status == 404 || status == 403, "\(method): \(status)")
            }
            #expect(try await bSees() == (404, 0, 0))
            // The patient decides again, at A: a later permit recorded by A opens the records.
            #expect(try await Self.send(hub, "POST", "/fhir/Consent", consent(permitB), presenting: pki).status == 201)
            #expect(try await bSees() == (200, 1, 1))
            // Seeing it now, B still cannot rewrite or remove A's record of the denial.
            for (method, body) in [("PUT", rewrite as String?), ("DELETE", nil)] {
                let status = try await Self.send(hub, method, "/fhir/Consent/\(denialID)", body, presenting: pki.otherHospital).status
                #expect(status == 403, "\(method): \(status)")
            }
            #expect(try await Self.send(hub, "GET", "/fhir/Consent/\(denialID)", presenting: pki).status == 200)
            // A re-saves the denial unchanged: the decision keeps its time, the later permit holds.
            let resaved = consent(#"{"type":"deny"}"#).replacingOccurrences(
                of: #"{"resourceType":"Consent","#, with: #"{"resourceType":"Consent","id":"\#(denialID)","#)
            #expect(try await Self.send(hub, "PUT", "/fhir/Consent/\(denialID)", resaved, presenting: pki).status == 200)
            #expect(try await bSees() == (200, 1, 1))
            // A Consent whose rules could not take effect as written is refused, not half-applied.
            let backwards = #"{"type":"deny","period":{"start":"2026-12-31","end":"2026-01-01"}}"#
            let unresolvable =
                #"{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"identifier":{"system":"urn:example:org","value":"B"},"display":"Hospital B"}}]}"#
            let conditional =
                #"{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization?identifier=B"}}]}"#
            let nested = #"{"type":"permit","provision":[{"type":"deny","period":{"start":"2027-01-02","end":"2027-01-01"}}]}"#
            let inherited =
                #"{"type":"permit","period":{"start":"2026-01-01","end":"2026-06-30"},"provision":[{"type":"deny","period":{"start":"2027-01-01"}}]}"#
            for provision in [backwards, unresolvable, conditional, nested, inherited] {
                let refused = try await Self.send(hub, "POST", "/fhir/Consent", consent(provision), presenting: pki)
                #expect(
                    refused.status == 422 || (provision == conditional && refused.status == 400), "\(provision): \(refused.status) \(refused.text)")
            }
            #expect(try await bSees() == (200, 1, 1))
            // A reference to another server's Organization names nobody the hub knows: refused too.
            let elsewhere =
                #"{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"https://elsewhere.example/fhir/Organization/other-hospital"}}]}"#
            #expect(try await Self.send(hub, "POST", "/fhir/Consent", consent(elsewhere), presenting: pki).status == 422)
        }
    }

    /// Item 9: a subscription cannot make the hub call its own networks. With the default policy
    /// every spelling of loopback is refused when the Subscription is written (loopback only:
    /// no test sends traffic anywhere else); the test configuration's allowance of loopback is
    /// what lets the notification tests deliver at all.
    @Test func subscriptionEndpointsOnInternalAddressesAreRefused() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.subscriptions.allowedEndpointNetworks = []
        }) { hub in
            for endpoint in [
                "https://127.0.0.1:9/hook", "https://localhost:9/hook", "https://[::1]:9/hook", "https://127.1:9/hook",
                "https://2130706433:9/hook", "https://[::ffff:127.0.0.1]:9/hook", "https://LocalHost.:9/hook",
            ] {
                let body = NotificationTests.subscription(criteria: "Task?status=requested", endpoint: endpoint)
                let answer = try await hub.send(
                    "POST", "/fhir/Subscription", headers: NotificationTests.json, body: body, presenting: pki.otherHospital)
                #expect(answer.status == 422, "\(endpoint): \(answer.status) \(answer.text)")
                #expect(answer.text.contains("internal addresses"), "\(endpoint): \(answer.text)")
            }
        }
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let body = NotificationTests.subscription(criteria: "Task?status=requested", endpoint: "https://127.0.0.1:9/hook")
            let answer = try await hub.send("POST", "/fhir/Subscription", headers: NotificationTests.json, body: body, presenting: pki.otherHospital)
            #expect(answer.status == 201, "allowed by the test configuration: \(answer.text)")
        }
    }

    /// A relationship belongs to the organization that established it: B, let in for a while by
    /// the patient's consent, rewrites A's Encounter unchanged; when the consent ends, B does not
    /// keep the patient's records through the encounter it touched.
    @Test func rewritingAnotherHospitalsEncounterTakesNoRelationshipOver() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1408)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let encounter =
                #"{"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/\#(victim.patient)"}}"#
            let encounterID = try #require(
                try jsonObject(try await Self.send(hub, "POST", "/fhir/Encounter", encounter, presenting: pki))["id"] as? String)
            let consent = { (status: String, id: String?) in
                #"{"resourceType":"Consent",\#(id.map { #""id":"\#($0)","# } ?? "")"status":"\#(status)","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/\#(victim.patient)"},"provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/other-hospital"}}]}}"#
            }
            let consentID = try #require(
                try jsonObject(try await Self.send(hub, "POST", "/fhir/Consent", consent("active", nil), presenting: pki))["id"] as? String)
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital).status == 200)
            let unchanged = encounter.replacingOccurrences(
                of: #"{"resourceType":"Encounter","#, with: #"{"resourceType":"Encounter","id":"\#(encounterID)","#)
            let rewritten = try await Self.send(hub, "PUT", "/fhir/Encounter/\(encounterID)", unchanged, presenting: pki.otherHospital)
            #expect(rewritten.status == 200, "\(rewritten.text)")
            #expect(try await Self.send(hub, "PUT", "/fhir/Consent/\(consentID)", consent("inactive", consentID), presenting: pki).status == 200)
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital).status == 404)
            // A keeps its relationship through its encounter.
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki).status == 200)
        }
    }

    /// Found by review: a hospital that may change a record must not take it out of its patient's
    /// compartment (it would become everyone's), nor remove or rewrite the shared registration,
    /// and what it writes under an emergency (a Consent naming itself) leaves nothing behind.
    @Test func writesCannotWidenWhoSeesARecord() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1409)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let card = [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(victim.residentID)")]
            #expect(
                try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(victim.person), headers: card, presenting: pki.otherHospital)
                    .status == 200)
            // B sees A's result now (a care relationship), but cannot unfile it from the patient.
            let unfiled = #"{"resourceType":"Observation","id":"\#(victim.observation)","status":"final","code":{"text":"x"}}"#
            let moved = try await Self.send(hub, "PUT", "/fhir/Observation/\(victim.observation)", unfiled, presenting: pki.otherHospital)
            #expect(moved.status == 422 || moved.status == 403, "\(moved.status) \(moved.text)")
            let ownMove = try await Self.send(hub, "PUT", "/fhir/Observation/\(victim.observation)", unfiled, presenting: pki)
            #expect(ownMove.status == 422, "even its author keeps it in the patient's record: \(ownMove.text)")
            // Nor remove or rewrite the registration every hospital relies on.
            #expect(try await Self.send(hub, "DELETE", "/fhir/Patient/\(victim.patient)", presenting: pki.otherHospital).status == 403)
            var renamed = people.patientJSON(victim.person).replacingOccurrences(
                of: #"{"resourceType":"Patient","#, with: #"{"resourceType":"Patient","id":"\#(victim.patient)","#)
            renamed = renamed.replacingOccurrences(of: victim.residentID, with: people.person(number: 11).residentID)
            #expect(try await Self.send(hub, "PUT", "/fhir/Patient/\(victim.patient)", renamed, presenting: pki.otherHospital).status == 403)
            #expect(try await Self.send(hub, "GET", "/fhir/Patient/\(victim.patient)", presenting: pki).status == 200)

        }
    }

    /// Item 7: every refused or empty-handed attempt by B appears in the victim's access history
    /// (the verified log), naming the patient the request aimed at — by path, by the record it
    /// addressed, by what it tried to write, by its search; never told to B.
    @Test func refusedAttemptsAppearInThePatientsAccessHistory() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 1410)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let condition = #"{"resourceType":"Condition","subject":{"reference":"Patient/\#(victim.patient)"}}"#
            let observation =
                #"{"resourceType":"Observation","id":"\#(victim.observation)","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(victim.patient)"}}"#
            let attempts: [(String, String, String?, Int, String)] = [
                ("GET", "/fhir/Observation/\(victim.observation)", nil, 404, "read"),
                ("GET", "/fhir/Observation/\(victim.observation)/_history", nil, 404, "history-instance"),
                ("GET", "/fhir/Observation/\(victim.observation)/_history/1", nil, 404, "vread"),
                ("PUT", "/fhir/Observation/\(victim.observation)", observation, 404, "update"),
                ("DELETE", "/fhir/Observation/\(victim.observation)", nil, 404, "delete"),
                ("POST", "/fhir/Condition", condition, 403, "create"),
                ("GET", "/fhir/Patient/\(victim.patient)", nil, 404, "read"),
                ("GET", "/fhir/Observation?subject=Patient/\(victim.patient)", nil, 200, "search-type"),
                ("GET", "/fhir/Observation?patient=\(victim.patient)", nil, 200, "search-type"),
            ]
            for (method, path, body, status, _) in attempts {
                let answer = try await Self.send(hub, method, path, body, presenting: pki.otherHospital)
                #expect(answer.status == status, "\(method) \(path): \(answer.status) \(answer.text)")
                if body == nil, !path.contains(victim.patient) {
                    #expect(!answer.text.contains(victim.patient), "\(method) \(path) names the patient: \(answer.text)")
                }
            }
            // The control: a record that does not exist names no patient.
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/no-such-record", presenting: pki.otherHospital).status == 404)

            let records = try await AuditTrailTests.verifiedLog(hub, pki: pki)
            let byB = records.filter { $0.caller.organization == TestHub.Identities.otherHospital }
            for (method, path, _, status, interaction) in attempts {
                #expect(
                    byB.contains { $0.patient == victim.patient && $0.status == status && $0.interaction == interaction && $0.entities.isEmpty },
                    "\(method) \(path) is not in the patient's access history: \(byB.map { "\($0.interaction) \($0.status.map(String.init) ?? "-") \($0.patient ?? "-")" })"
                )
            }
            #expect(byB.contains { $0.patient == nil && $0.status == 404 && $0.interaction == "read" })
            // And the regulator's view of the patient's history shows them.
            let history = try jsonObject(
                try await hub.send("GET", "/fhir/AuditEvent?patient=\(victim.patient)&_count=1000", presenting: pki.regulator))
            #expect(((history["entry"] as? [[String: Any]]) ?? []).count >= attempts.count)
        }
    }

    /// Item 5, the rest: a number alone finds nobody — the presented name and birth date must be
    /// the registered ones — and registrations are limited per principal (429 with Retry-After).
    @Test func registrationNeedsTheCardsParticularsAndIsLimited() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.access.registrationLimit = 3
        }) { hub in
            var people = SyntheticPatients(seed: 1411)
            let victim = try await Self.victim(hub, &people, pki: pki)
            let card = [("If-None-Exist", "identifier=urn:health-hub:sid:resident-id|\(victim.residentID)")]
            var impostor = victim.person
            impostor.given = victim.person.given == "建国" ? "秀英" : "建国"
            let guessed = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(impostor), headers: card, presenting: pki.otherHospital)
            #expect(guessed.status == 409, "\(guessed.text)")
            #expect(!guessed.text.contains(victim.patient) && !guessed.text.contains(victim.person.family + victim.person.given))
            #expect(try await Self.send(hub, "GET", "/fhir/Observation/\(victim.observation)", presenting: pki.otherHospital).status == 404)
            // The card as it is registers.
            let registered = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(victim.person), headers: card, presenting: pki.otherHospital)
            #expect(registered.status == 200, "\(registered.text)")
            // A third attempt is allowed, the fourth waits — whatever it presents.
            #expect(
                try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(victim.person), headers: card, presenting: pki.otherHospital)
                    .status == 200)
            let held = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(victim.person), headers: card, presenting: pki.otherHospital)
            #expect(held.status == 429, "\(held.text)")
            #expect(held.headers.contains { $0.0.lowercased() == "retry-after" })
            #expect(held.text.contains("throttled"))
            // Another principal (A's system) is not held back.
            #expect(
                try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(victim.person), headers: card, presenting: pki).status == 200)
            // The attempts that reached the lookup are in the patient's access history.
            let records = try await AuditTrailTests.verifiedLog(hub, pki: pki)
            let byB = records.filter { $0.caller.organization == TestHub.Identities.otherHospital }
            #expect(Set(byB.filter { $0.patient == victim.patient }.map(\.status)).isSuperset(of: [409, 200]), "\(byB.map(\.status))")
            // The throttled one is refused before any lookup: recorded, without a patient.
            #expect(byB.contains { $0.status == 429 && $0.interaction == "create" })
        }
    }

    /// Found by review: booking entails taking another hospital's Slot, and only that — a
    /// Bundle that books B's Slot and also rewrites it is refused whole; nothing is written.
    @Test func aBookingDoesNotLetTheBookerRewriteTheSlot() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let schedule = try await Self.send(
                hub, "POST", "/fhir/Schedule", #"{"resourceType":"Schedule","active":true,"actor":[{"display":"心内科 王医生"}]}"#,
                presenting: pki.otherHospital)
            let scheduleID = try #require(try jsonObject(schedule)["id"] as? String, "\(schedule.text)")
            let slotBody =
                #"{"resourceType":"Slot","schedule":{"reference":"Schedule/\#(scheduleID)"},"status":"free","start":"2026-12-10T09:00:00+08:00","end":"2026-12-10T09:15:00+08:00"}"#
            let slot = try #require(
                try jsonObject(try await Self.send(hub, "POST", "/fhir/Slot", slotBody, presenting: pki.otherHospital))["id"] as? String)
            var people = SyntheticPatients(seed: 1412)
            let patient = try #require(
                try jsonObject(try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(), presenting: pki))["id"] as? String)
            let appointment = String(decoding: AppointmentBookingTests.appointment(patient: patient, slot: slot), as: UTF8.self)
            let rewritten =
                #"{"resourceType":"Slot","id":"\#(slot)","schedule":{"reference":"Schedule/\#(scheduleID)"},"status":"busy","start":"2026-12-11T18:00:00+08:00","end":"2026-12-11T19:00:00+08:00","comment":"taken over"}"#
            for order in [[0, 1], [1, 0]] {
                let entries = [
                    #"{"resource":\#(appointment),"request":{"method":"POST","url":"Appointment"}}"#,
                    #"{"resource":\#(rewritten),"request":{"method":"PUT","url":"Slot/\#(slot)"}}"#,
                ]
                let bundle = #"{"resourceType":"Bundle","type":"transaction","entry":[\#(order.map { entries[$0] }.joined(separator: ","))]}"#
                let answer = try await Self.send(hub, "POST", "/fhir", bundle, presenting: pki)
                #expect(answer.status == 403 || answer.status == 409, "\(order): \(answer.status) \(answer.text)")
            }
            let stored = try jsonObject(try await Self.send(hub, "GET", "/fhir/Slot/\(slot)", presenting: pki))
            #expect(stored["status"] as? String == "free")
            #expect(stored["start"] as? String == "2026-12-10T09:00:00+08:00")
            #expect(try jsonObject(try await Self.send(hub, "GET", "/fhir/Appointment?_summary=count", presenting: pki))["total"] as? Int == 0)
            // The booking alone takes the Slot, as it should.
            #expect(try await Self.send(hub, "POST", "/fhir/Appointment", appointment, presenting: pki).status == 201)
            #expect(try jsonObject(try await Self.send(hub, "GET", "/fhir/Slot/\(slot)", presenting: pki))["status"] as? String == "busy")
        }
    }

    /// Review finding: a plain create carrying a registered resident ID number answers 409 —
    /// whether a number is registered is answerable by design (the number is unique), so the
    /// conflicts are limited per organization (past the limit every create carrying a number is
    /// 429, registered or not) and each names the patient it hit in the audit trail.
    @Test func identifierConflictsAreLimitedAndAudited() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.access.identifierConflictLimit = 2
        }) { hub in
            var people = SyntheticPatients(seed: 1413)
            let victim = try await Self.victim(hub, &people, pki: pki)
            var copy = victim.person
            copy.given = "某"
            for _ in 0..<2 {
                let conflict = try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(copy), presenting: pki.otherHospital)
                #expect(conflict.status == 409, "\(conflict.text)")
                #expect(!conflict.text.contains(victim.patient))
            }
            // Past the limit a number is answered alike whether registered or not.
            let registered = try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(copy), presenting: pki.otherHospital)
            let unregistered = try await Self.send(
                hub, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 4_321)), presenting: pki.otherHospital)
            #expect(registered.status == 429 && unregistered.status == 429, "\(registered.status) \(unregistered.status)")
            // Patients without such a number are created as usual; another organization is not held back.
            let plain =
                #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H002","value":"MRN77"}],"name":[{"text":"无证件患者"}],"gender":"unknown"}"#
            let plainReply = try await Self.send(hub, "POST", "/fhir/Patient", plain, presenting: pki.otherHospital)
            #expect(plainReply.status == 201, "\(plainReply.text)")
            #expect(
                try await Self.send(hub, "POST", "/fhir/Patient", people.patientJSON(people.person(number: 4_322)), presenting: pki).status == 201)
            let records = try await AuditTrailTests.verifiedLog(hub, pki: pki)
            let conflicts = records.filter { $0.caller.organization == TestHub.Identities.otherHospital && $0.status == 409 }
            #expect(conflicts.count == 2 && conflicts.allSatisfy { $0.patient == victim.patient }, "\(conflicts.map { $0.patient ?? "-" })")
        }
    }
}
