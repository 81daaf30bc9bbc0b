import Foundation
import HubAudit
import HubFHIR
import HubHL7
import HubResources
import HubSynthetic
import HubTestSupport
import HubWorkflows
import Testing

/// The workflow rules over the in-memory store (issue #17): what a write entails, in
/// milliseconds and without PostgreSQL. `AppointmentBookingTests` and `HL7IntakeTests` in
/// HubServerTests run the same rules over HTTPS and PostgreSQL.
@Suite struct WorkflowRulesTests {
    static let residentID = "urn:health-hub:sid:resident-id"

    static func object(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(text.utf8)).objectValue)
    }

    static func store() -> (memory: InMemoryResourceStore, rules: WorkflowStore) {
        let memory = InMemoryResourceStore()
        return (
            memory, WorkflowStore(base: memory, rules: WorkflowStore.hubRules(residentIDSystem: Self.residentID, addresses: OutboundAddressPolicy()))
        )
    }

    static func appointment(patient: String, slot: String, status: String = "booked", id: String? = nil) throws -> JSONObject {
        let identity = id.map { #""id":"\#($0)","# } ?? ""
        return try Self.object(
            #"{"resourceType":"Appointment",\#(identity)"status":"\#(status)","slot":[{"reference":"Slot/\#(slot)"}],"start":"2026-12-10T09:00:00+08:00","end":"2026-12-10T09:15:00+08:00","participant":[{"actor":{"reference":"Patient/\#(patient)"},"status":"accepted"}]}"#
        )
    }

    @Test func aBookingTakesItsSlotOnceAndCancellingFreesIt() async throws {
        let (memory, store) = Self.store()
        let access = RecordAccess.unrestricted
        var people = SyntheticPatients(seed: 1701)
        let patient = try await store.create(try Self.object(people.patientJSON()), type: .patient, access: access, audit: .test).id
        let schedule = try await store.create(
            try Self.object(#"{"resourceType":"Schedule","active":true,"actor":[{"display":"心内科"}]}"#), type: .schedule, access: access, audit: .test
        ).id
        let slot = try await store.create(
            try Self.object(
                #"{"resourceType":"Slot","schedule":{"reference":"Schedule/\#(schedule)"},"status":"free","start":"2026-12-10T09:00:00+08:00","end":"2026-12-10T09:15:00+08:00"}"#
            ),
            type: .slot, access: access, audit: .test
        ).id

        let booked = try await store.create(try Self.appointment(patient: patient, slot: slot), type: .appointment, access: access, audit: .test)
        #expect(try await memory.read(.slot, id: slot, access: access).resource?["status"]?.stringValue == "busy")
        // The Appointment and the Slot it took are one transaction.
        #expect(await memory.committed.last.map(Set.init) == ["Appointment/\(booked.id)", "Slot/\(slot)"])

        // A second booking of the slot is refused, naming the slot; nothing is written.
        let before = await memory.committed.count
        let clash = await #expect(throws: ResourceError.self) {
            try await store.create(try Self.appointment(patient: patient, slot: slot), type: .appointment, access: access, audit: .test)
        }
        #expect(clash?.code == .conflict)
        #expect(clash?.diagnostics.contains("Slot/\(slot)") == true)
        #expect(await memory.committed.count == before)

        // Cancelling frees the slot, in the cancellation's transaction.
        _ = try await store.update(
            try Self.appointment(patient: patient, slot: slot, status: "cancelled", id: booked.id), type: .appointment, id: booked.id, ifMatch: nil,
            access: access, audit: .test
        )
        #expect(try await memory.read(.slot, id: slot, access: access).resource?["status"]?.stringValue == "free")
        // A cancelled appointment stays cancelled: no transition back to booked.
        await #expect(throws: ResourceError.self) {
            try await store.update(
                try Self.appointment(patient: patient, slot: slot, id: booked.id), type: .appointment, id: booked.id, ifMatch: nil, access: access,
                audit: .test
            )
        }
    }

    @Test func anHL7ResultIsFiledUnderThePatientItsResidentIDNames() async throws {
        let memory = InMemoryResourceStore()
        let access = RecordAccess.unrestricted
        var people = SyntheticPatients(seed: 1702)
        let person = people.person(number: 5)
        let patient = try await memory.create(try Self.object(people.patientJSON(person)), type: .patient, access: access, audit: .test).id
        let validator = try ResourceValidator.load(profilesDirectory: TestEnvironment.repositoryRoot() + "/profiles/fhir")
        let intake = LabResultIntake(store: memory, validator: validator)
        let taken = "202612050800+0800"
        let message = [
            "MSH|^~\\&|LIS|TEST-LAB|HUB|CITY|202612050845||ORU^R01^ORU_R01|MEM1|P|2.5",
            "PID|1||\(person.residentID)^^^^NNCHN||\(person.family)^\(person.given)",
            "OBR|1|ORD-1|FIL-9|24323-8^Comprehensive metabolic 2000 panel^LN|||202612050830|||||||||||||||202612051030|||F",
            "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||5.6|mmol/L^^UCUM|3.9-6.1|N|||F|||\(taken)",
        ].joined(separator: "\r")
        let outcome = try await intake.receive(Array(message.utf8), access: access, audit: .test)
        #expect(outcome.code == .accepted, "\(outcome.acknowledgement)")
        let stored = await memory.committed.last ?? []
        #expect(stored.contains { $0.hasPrefix("DiagnosticReport/") } && stored.contains { $0.hasPrefix("Observation/") })
        for reference in stored {
            let parts = reference.split(separator: "/").map(String.init)
            let record = try await memory.read(try #require(ResourceType(rawValue: parts[0])), id: parts[1], access: access)
            #expect(record.patientID == patient, "\(reference)")
        }
        // The same message again is recognised and not stored twice.
        let again = try await intake.receive(Array(message.utf8), access: access, audit: .test)
        #expect(again.code == .accepted)
        #expect(await memory.committed.count == 2)
        // A number nobody has is rejected: a result is never filed under no patient.
        let stranger = message.replacingOccurrences(of: person.residentID, with: people.person(number: 6).residentID).replacingOccurrences(
            of: "MEM1", with: "MEM2")
        #expect(try await intake.receive(Array(stranger.utf8), access: access, audit: .test).code != .accepted)
        #expect(await memory.committed.count == 2)
    }
}
