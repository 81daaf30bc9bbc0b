import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Issue #6's end-to-end scenario across three hospitals: B publishes slots, A books one (a
/// concurrent double booking is refused), A refers the patient to B, B accepts and reads the
/// shared record while C — with no relationship — is denied and that denial is audited; B's lab
/// reports a result over HL7 v2 and A sees it, marked with its performer and as recognised; B is
/// notified of the booking in its clinic, of the referral and of its own lab's report.
@Suite struct CrossHospitalScenarioTests {
    static let json = [("Content-Type", "application/fhir+json")]

    @Test func bookReferShareAndReportAcrossThreeHospitals() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = NotificationReceiver()
        try await receiver.whileListening(pki: pki) { port in
            try await withHub({ NotificationTests.configure(&$0, pki: pki) }) { hub in
                let (a, b, c) = (pki, pki.otherHospital, pki.thirdHospital)
                // B subscribes to bookings in its clinics, referrals addressed to it and reports on its patients.
                for criteria in [
                    "Appointment?slot.organization=Organization/other-hospital", "Task?owner=Organization/other-hospital", "DiagnosticReport",
                ] {
                    let subscribed = try await hub.send(
                        "POST", "/fhir/Subscription", headers: Self.json,
                        body: NotificationTests.subscription(criteria: criteria, endpoint: "https://127.0.0.1:\(port)/b"), presenting: b
                    )
                    #expect(subscribed.status == 201, "\(subscribed.text)")
                }
                // B publishes two slots.
                let schedule =
                    #"{"fullUrl":"urn:uuid:5d1b0c1e-0000-4000-8000-0000000000aa","resource":{"resourceType":"Schedule","active":true,"actor":[{"display":"心内科门诊"}]},"request":{"method":"POST","url":"Schedule"}}"#
                let slots = ["09", "10"].map { hour in
                    #"{"resource":{"resourceType":"Slot","schedule":{"reference":"urn:uuid:5d1b0c1e-0000-4000-8000-0000000000aa"},"status":"free","start":"2026-12-15T\#(hour):00:00+08:00","end":"2026-12-15T\#(hour):20:00+08:00"},"request":{"method":"POST","url":"Slot"}}"#
                }
                let published = try jsonObject(
                    try await hub.send(
                        "POST", "/fhir", headers: Self.json,
                        body: Array(
                            #"{"resourceType":"Bundle","type":"transaction","entry":[\#(([schedule] + slots).joined(separator: ","))]}"#.utf8),
                        presenting: b
                    ))
                let slotIDs = ((published["entry"] as? [[String: Any]]) ?? []).compactMap {
                    (($0["response"] as? [String: Any])?["location"] as? String).flatMap {
                        $0.hasPrefix("Slot/") ? String($0.split(separator: "/")[1]) : nil
                    }
                }
                try #require(slotIDs.count == 2)

                // A registers its patient with an earlier result.
                var people = SyntheticPatients(seed: 101)
                let person = people.person()
                let patient = try #require(
                    try jsonObject(
                        try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON(person).utf8), presenting: a))[
                            "id"] as? String)
                let earlier = try #require(
                    try jsonObject(
                        try await hub.send(
                            "POST", "/fhir/Observation", headers: Self.json,
                            body: Array(people.observationJSON(test: LabTest.common[2], patient: "Patient/\(patient)", day: "2026-11-20").utf8),
                            presenting: a
                        ))["id"] as? String)

                // A books the first slot twice at once: one booking wins.
                let booking = Array(
                    #"{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/\#(slotIDs[0])"}],"start":"2026-12-15T09:00:00+08:00","end":"2026-12-15T09:20:00+08:00","participant":[{"actor":{"reference":"Patient/\#(patient)"},"status":"accepted"}]}"#
                        .utf8)
                async let first = hub.send("POST", "/fhir/Appointment", headers: Self.json, body: booking, presenting: a)
                async let second = hub.send("POST", "/fhir/Appointment", headers: Self.json, body: booking, presenting: a)
                let statuses = try await [first.status, second.status].sorted()
                #expect(statuses == [201, 409])

                // A refers the patient to B; B accepts and reads the record.
                let sent = try await hub.send(
                    "POST", "/fhir", headers: Self.json, body: ReferralWorkflowTests.referral(patient: patient, supporting: earlier), presenting: a)
                #expect(sent.status == 200)
                let inbox = try jsonObject(
                    try await hub.send("GET", "/fhir/Task?owner=Organization/other-hospital&patient=Patient/\(patient)", presenting: b))
                let task = try #require(((inbox["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
                let taskID = try #require(task["id"] as? String)
                #expect(
                    try await hub.send(
                        "PUT", "/fhir/Task/\(taskID)", headers: Self.json, body: try ReferralWorkflowTests.task(task, status: "accepted"),
                        presenting: b
                    ).status == 200)
                #expect(try await hub.send("GET", "/fhir/Observation/\(earlier)", presenting: b).status == 200)

                // C has no relationship: nothing exists for it, and the attempt is on the record.
                #expect(try await hub.send("GET", "/fhir/Observation/\(earlier)", presenting: c).status == 404)
                #expect(try await hub.send("GET", "/fhir/Patient/\(patient)/$everything", presenting: c).status == 404)
                let counted = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: c))
                #expect(counted["total"] as? Int == 0)

                // B's lab reports a result over HL7 v2; A sees it, performed by B and recognised.
                let ack = try await hub.send(
                    "POST", "/hl7v2", headers: HL7IntakeTests.er7, body: HL7IntakeTests.oru(residentID: person.residentID, control: "SCEN-1"),
                    presenting: b)
                #expect(HL7IntakeTests.acknowledgement(ack).code == "AA", "\(ack.text)")
                let latest = try jsonObject(try await hub.send("GET", "/fhir/Observation/$lastn?patient=\(patient)&code=2345-7", presenting: a))
                let glucose = try #require(((latest["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
                #expect(((glucose["performer"] as? [[String: Any]])?.first?["reference"]) as? String == "Organization/other-hospital")
                let tags = ((glucose["meta"] as? [String: Any])?["tag"] as? [[String: Any]]) ?? []
                #expect(tags.contains { $0["code"] as? String == "recognized" })

                // The regulator sees C's denied attempts in the trail.
                _ = try await hub.send("POST", "/audit/checkpoint", presenting: pki.regulator)
                let trail = try jsonObject(
                    try await hub.send("GET", "/fhir/AuditEvent?agent=\(TestHub.Identities.thirdSystem)&_count=100", presenting: pki.regulator))
                let outcomes = ((trail["entry"] as? [[String: Any]]) ?? []).compactMap { ($0["resource"] as? [String: Any])?["outcome"] as? String }
                #expect(outcomes.filter { $0 == "4" }.count >= 2, "\(outcomes)")

                // B was told of the booking, the referral (sent, then accepted) and the report — ids only.
                @Sendable func focuses() -> [String] {
                    receiver.received.compactMap { delivered in
                        let text = String(decoding: delivered.body, as: UTF8.self)
                        return ["Appointment", "Task", "DiagnosticReport"].first { text.contains("/fhir/\($0)/") }
                    }
                }
                #expect(
                    try await eventually {
                        Set(focuses()) == ["Appointment", "Task", "DiagnosticReport"] && focuses().filter { $0 == "Task" }.count >= 2
                    }, "\(focuses())")
                #expect(!receiver.received.contains { String(decoding: $0.body, as: UTF8.self).contains(person.residentID) })
            }
        }
    }
}
