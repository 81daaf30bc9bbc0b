import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Booking across hospitals (issue #6): hospital B publishes Slots, hospital A books them for its
/// patient; a Slot is taken atomically, freed on cancellation, moved on rescheduling.
@Suite struct AppointmentBookingTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func appointment(patient: String, slot: String, status: String = "booked", start: String = "2026-12-10T09:00:00+08:00") -> [UInt8] {
        Array(
            #"""
            {"resourceType":"Appointment","status":"\#(status)","slot":[{"reference":"Slot/\#(slot)"}],
             "start":"\#(start)","end":"2026-12-10T23:45:00+08:00",
             "participant":[{"actor":{"reference":"Patient/\#(patient)"},"status":"accepted"}]}
            """#.utf8)
    }

    @Test func freeSlotsAreFoundByOrganizationRoleServiceAndDateAndDayListsByOrganization() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let hospitalA = pki
            // B and C each publish a cardiology schedule (a practitioner role) with morning slots.
            func publish(_ caller: TestPKI, role: String, service: String) async throws -> [String] {
                var entries = [
                    #"{"fullUrl":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000002","resource":{"resourceType":"PractitionerRole","active":true,"code":[{"text":"心内科医师"}]},"request":{"method":"POST","url":"PractitionerRole"}}"#
                ]
                entries.append(
                    #"{"fullUrl":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000001","resource":{"resourceType":"Schedule","active":true,"serviceType":[{"coding":[{"system":"urn:health-hub:service","code":"\#(service)"}]}],"actor":[{"reference":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000002","display":"\#(role)"}]},"request":{"method":"POST","url":"Schedule"}}"#
                )
                for (day, hour) in [("10", "09"), ("10", "10"), ("11", "09")] {
                    entries.append(
                        #"{"resource":{"resourceType":"Slot","schedule":{"reference":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000001"},"serviceType":[{"coding":[{"system":"urn:health-hub:service","code":"\#(service)"}]}],"status":"free","start":"2026-12-\#(day)T\#(hour):00:00+08:00","end":"2026-12-\#(day)T\#(hour):15:00+08:00"},"request":{"method":"POST","url":"Slot"}}"#
                    )
                }
                let published = try await hub.send(
                    "POST", "/fhir", headers: Self.json,
                    body: Array(#"{"resourceType":"Bundle","type":"transaction","entry":[\#(entries.joined(separator: ","))]}"#.utf8),
                    presenting: caller
                )
                #expect(published.status == 200, "\(published.text)")
                return ((try jsonObject(published)["entry"] as? [[String: Any]]) ?? []).compactMap {
                    ($0["response"] as? [String: Any])?["location"] as? String
                }
            }
            let atB = try await publish(pki.otherHospital, role: "王医生", service: "cardiology")
            _ = try await publish(pki.thirdHospital, role: "赵医生", service: "cardiology")
            let roleB = try #require(atB.first { $0.hasPrefix("PractitionerRole/") }).split(separator: "/")[1]
            let slotsB = atB.filter { $0.hasPrefix("Slot/") }.map { String($0.split(separator: "/")[1]) }
            func ids(_ query: String) async throws -> Set<String> {
                let reply = try await hub.send("GET", "/fhir/\(query)", presenting: hospitalA)
                #expect(reply.status == 200, "\(query): \(reply.text)")
                let entries = (try jsonObject(reply)["entry"] as? [[String: Any]]) ?? []
                return Set(entries.compactMap { ($0["resource"] as? [String: Any])?["id"] as? String })
            }
            let free = "Slot?status=free&service-type=urn:health-hub:service|cardiology"
            #expect(try await ids(free).count == 6)
            #expect(try await ids("\(free)&organization=Organization/other-hospital") == Set(slotsB))
            #expect(try await ids("\(free)&schedule.organization=Organization/other-hospital") == Set(slotsB))
            #expect(try await ids("\(free)&schedule.actor=PractitionerRole/\(roleB)") == Set(slotsB))
            #expect(try await ids("\(free)&organization=Organization/other-hospital&start=ge2026-12-10&start=lt2026-12-11").count == 2)

            // Only B changes B's Slots and Schedules — A's booking takes a Slot, A cannot edit one.
            let slotB = try jsonObject(try await hub.send("GET", "/fhir/Slot/\(slotsB[1])", presenting: hospitalA))
            var taken = slotB
            taken["status"] = "busy"
            taken["meta"] = nil
            let edited = try await hub.send(
                "PUT", "/fhir/Slot/\(slotsB[1])", headers: Self.json, body: Array(try JSONSerialization.data(withJSONObject: taken)),
                presenting: hospitalA)
            #expect(edited.status == 403, "\(edited.text)")
            let scheduleB = try #require(atB.first { $0.hasPrefix("Schedule/") }).split(separator: "/").prefix(2).joined(separator: "/")
            #expect(try await hub.send("DELETE", "/fhir/\(scheduleB)", presenting: hospitalA).status == 403)

            // A books one of B's; it is no longer free, and it is on B's day list.
            var people = SyntheticPatients(seed: 92)
            let patient = try #require(
                try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: hospitalA))[
                        "id"] as? String)
            let booked = try await hub.send(
                "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: slotsB[0]), presenting: hospitalA)
            #expect(booked.status == 201, "\(booked.text)")
            let appointment = try #require(try jsonObject(booked)["id"] as? String)
            #expect(try await ids("\(free)&organization=Organization/other-hospital").count == 2)
            let dayList = try await hub.send(
                "GET", "/fhir/Appointment?slot.organization=Organization/other-hospital&date=2026-12-10", presenting: pki.otherHospital)
            #expect(dayList.status == 200, "\(dayList.text)")
            #expect(dayList.text.contains(appointment))
            let otherDay = try await hub.send(
                "GET", "/fhir/Appointment?slot.organization=Organization/third-hospital&date=2026-12-10", presenting: pki.thirdHospital)
            #expect(!otherDay.text.contains(appointment))
            // The patient's appointments.
            #expect(try await ids("Appointment?patient=Patient/\(patient)") == [appointment])
        }
    }

    @Test func aSlotIsTakenOnceFreedOnCancellationAndMovedOnRescheduling() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.database.operationTimeoutSeconds = 30
        }) { hub in
            let hospitalA = pki
            let hospitalB = pki.otherHospital
            // B publishes a schedule with three slots, in one transaction Bundle.
            var entries = [
                #"{"fullUrl":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000001","resource":{"resourceType":"Schedule","active":true,"actor":[{"display":"心内科 王医生"}]},"request":{"method":"POST","url":"Schedule"}}"#
            ]
            for hour in ["09", "10", "11"] {
                entries.append(
                    #"{"resource":{"resourceType":"Slot","schedule":{"reference":"urn:uuid:5d1b0c1e-0000-4000-8000-000000000001"},"status":"free","start":"2026-12-10T\#(hour):00:00+08:00","end":"2026-12-10T\#(hour):15:00+08:00"},"request":{"method":"POST","url":"Slot"}}"#
                )
            }
            let published = try await hub.send(
                "POST", "/fhir", headers: Self.json,
                body: Array(#"{"resourceType":"Bundle","type":"transaction","entry":[\#(entries.joined(separator: ","))]}"#.utf8),
                presenting: hospitalB
            )
            #expect(published.status == 200, "\(published.text)")
            let slots = ((try jsonObject(published)["entry"] as? [[String: Any]]) ?? []).compactMap { entry -> String? in
                let location = (entry["response"] as? [String: Any])?["location"] as? String ?? ""
                return location.hasPrefix("Slot/") ? String(location.split(separator: "/")[1]) : nil
            }
            try #require(slots.count == 3)

            // A registers its patient; B cannot see them yet.
            var people = SyntheticPatients(seed: 91)
            let patient = try #require(
                try jsonObject(
                    try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: hospitalA))[
                        "id"] as? String)
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: hospitalB).status == 404)

            // 50 concurrent bookings of the first slot: exactly one wins, the others are told which slot.
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        // Fifty at once queue for the hub's two database connections: on a loaded
                        // machine an answer may take longer than a client's usual 10 s.
                        let reply = try await hub.send(
                            "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: slots[0]),
                            presenting: hospitalA, timeout: .seconds(60)
                        )
                        return (reply.status, reply.text)
                    }
                }
                var all: [(Int, String)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 1)
            #expect(statuses.filter { $0.0 == 409 }.count == 49, "\(Set(statuses.map(\.0)))")
            #expect(statuses.filter { $0.0 == 409 }.allSatisfy { $0.1.contains("Slot/\(slots[0])") && $0.1.contains("OperationOutcome") })
            let booked = try #require(statuses.first { $0.0 == 201 })
            let appointment = try #require(try JSONSerialization.jsonObject(with: Data(booked.1.utf8)) as? [String: Any])
            let appointmentID = try #require(appointment["id"] as? String)
            #expect(try await Self.slotStatus(hub, slots[0], pki) == "busy")
            // Exactly one Appointment exists.
            let count = try jsonObject(try await hub.send("GET", "/fhir/Appointment?_summary=count", presenting: hospitalA))
            #expect(count["total"] as? Int == 1)

            // The booking relates B to the patient.
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: hospitalB).status == 200)

            // Rescheduling moves the booking: the first slot is free again, the second busy.
            let moved = try await hub.send(
                "PUT", "/fhir/Appointment/\(appointmentID)", headers: Self.json, body: Self.putBody(appointmentID, patient: patient, slot: slots[1]),
                presenting: hospitalA)
            #expect(moved.status == 200, "\(moved.text)")
            #expect(try await Self.slotStatus(hub, slots[0], pki) == "free")
            #expect(try await Self.slotStatus(hub, slots[1], pki) == "busy")
            // Onto a taken slot: 409 and nothing changes.
            let other = try await hub.send(
                "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: slots[2]), presenting: hospitalA)
            #expect(other.status == 201)
            let clash = try await hub.send(
                "PUT", "/fhir/Appointment/\(appointmentID)", headers: Self.json, body: Self.putBody(appointmentID, patient: patient, slot: slots[2]),
                presenting: hospitalA)
            #expect(clash.status == 409)
            #expect(clash.text.contains("Slot/\(slots[2])"))
            #expect(try await Self.slotStatus(hub, slots[1], pki) == "busy")

            // Statuses move only forward: booked → fulfilled skips arrival.
            let skipped = try await hub.send(
                "PUT", "/fhir/Appointment/\(appointmentID)", headers: Self.json,
                body: Self.putBody(appointmentID, patient: patient, slot: slots[1], status: "fulfilled"), presenting: hospitalA)
            #expect(skipped.status == 409)
            #expect(skipped.text.contains("cannot become fulfilled"))
            for status in ["arrived", "fulfilled"] {
                let step = try await hub.send(
                    "PUT", "/fhir/Appointment/\(appointmentID)", headers: Self.json,
                    body: Self.putBody(appointmentID, patient: patient, slot: slots[1], status: status), presenting: hospitalA)
                #expect(step.status == 200, "\(status): \(step.text)")
            }
            let back = try await hub.send(
                "PUT", "/fhir/Appointment/\(appointmentID)", headers: Self.json,
                body: Self.putBody(appointmentID, patient: patient, slot: slots[1], status: "booked"), presenting: hospitalA)
            #expect(back.status == 409)

            // Cancelling the other booking frees its slot; it can be booked again.
            let otherID = try #require(try jsonObject(other)["id"] as? String)
            let cancelled = try await hub.send(
                "PUT", "/fhir/Appointment/\(otherID)", headers: Self.json,
                body: Self.putBody(otherID, patient: patient, slot: slots[2], status: "cancelled"), presenting: hospitalA)
            #expect(cancelled.status == 200, "\(cancelled.text)")
            #expect(try await Self.slotStatus(hub, slots[2], pki) == "free")
            #expect(
                try await hub.send(
                    "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: slots[2]), presenting: hospitalA
                ).status == 201)
            // A clinician allowed to write Appointments (not Slots) books: the Slot goes with it.
            let clinician = try await hub.token(
                for: TestHub.Identities.clinician, scopes: ["user/Appointment.*", "user/Slot.read", "user/Patient.read"])
            let byClinician = try await hub.send(
                "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: slots[0]), bearer: clinician)
            #expect(byClinician.status == 201, "\(byClinician.text)")
            #expect(try await Self.slotStatus(hub, slots[0], pki) == "busy")
            #expect(
                try await hub.send(
                    "PUT", "/fhir/Slot/\(slots[1])", headers: Self.json, body: Array(#"{"resourceType":"Slot","id":"\#(slots[1])"}"#.utf8),
                    bearer: clinician
                ).status == 403)
            // A slot that does not exist is not bookable.
            #expect(
                try await hub.send(
                    "POST", "/fhir/Appointment", headers: Self.json, body: Self.appointment(patient: patient, slot: "no-such-slot"),
                    presenting: hospitalA
                ).status == 422)
        }
    }

    static func putBody(_ id: String, patient: String, slot: String, status: String = "booked") -> [UInt8] {
        var body = String(decoding: Self.appointment(patient: patient, slot: slot, status: status), as: UTF8.self)
        body = body.replacingOccurrences(of: #"{"resourceType":"Appointment","#, with: #"{"resourceType":"Appointment","id":"\#(id)","#)
        return Array(body.utf8)
    }

    static func slotStatus(_ hub: RunningHub, _ slot: String, _ pki: TestPKI) async throws -> String? {
        try jsonObject(try await hub.send("GET", "/fhir/Slot/\(slot)", presenting: pki))["status"] as? String
    }
}
