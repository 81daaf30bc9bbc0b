import ArgumentParser
import Foundation

/// `hubctl appointments list|book|cancel`.
struct Appointments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Appointments: your organization's day list or a patient's; book a slot; cancel.",
        subcommands: [List.self, Book.self, Cancel.self],
        defaultSubcommand: List.self
    )

    /// An appointment as `--json` gives it.
    struct Row: Codable {
        var id: String
        var start: String
        var end: String?
        var status: String
        var patient: String?
        var patientName: String?
        var slots: [String]
        var serviceType: String?
    }

    static func row(_ appointment: [String: Any], names: [String: String]) -> Row {
        let participants = (appointment["participant"] as? [[String: Any]]) ?? []
        let patient = participants.map { FHIRFields.reference($0["actor"]) }.first { $0.hasPrefix("Patient/") }
        let service = FHIRFields.concept((appointment["serviceType"] as? [Any])?.first)
        return Row(
            id: appointment["id"] as? String ?? "", start: appointment["start"] as? String ?? "", end: appointment["end"] as? String,
            status: appointment["status"] as? String ?? "", patient: patient, patientName: patient.flatMap { names[$0] },
            slots: ((appointment["slot"] as? [Any]) ?? []).map(FHIRFields.reference), serviceType: service.isEmpty ? nil : service
        )
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your organization's appointments of a day (default today), or a patient's.")
        @OptionGroup var server: ServerOptions
        @Option(help: "A patient's appointments instead (Patient id).") var patient: String?
        @Option(help: "The day (YYYY-MM-DD; default today).") var day: String?
        @Option(help: "Another organization's day list (its id).") var organization: String?
        @Flag(help: "Print JSON: {appointments: [{id, start, end, status, patient, patientName, slots, serviceType}]}.") var json = false

        func run() async throws {
            let rows = try await HubCall.run(self.server) { call in
                let query: String
                if let patient {
                    query = "patient=Patient/\(HubCall.query(patient))"
                } else {
                    let organization: String
                    if let chosen = self.organization { organization = chosen } else { organization = try await call.organization() }
                    let formatter = DateFormatter()
                    formatter.dateFormat = "yyyy-MM-dd"
                    query =
                        "slot.organization=Organization/\(HubCall.query(organization))&date=\(HubCall.query(self.day ?? formatter.string(from: Date())))"
                }
                let found = try await call.search("/fhir/Appointment?\(query)&_include=Appointment:patient&_count=200")
                let names = Dictionary(
                    found.filter { $0["resourceType"] as? String == "Patient" }.map { ("Patient/\($0["id"] as? String ?? "")", FHIRFields.name($0)) },
                    uniquingKeysWith: { first, _ in first })
                return found.filter { $0["resourceType"] as? String == "Appointment" }.map { Appointments.row($0, names: names) }.sorted {
                    $0.start < $1.start
                }
            }
            if self.json {
                try Output.json(["appointments": rows])
                return
            }
            guard !rows.isEmpty else {
                print("no appointments")
                return
            }
            var table = Table(headers: ["时间 Start", "状态 Status", "患者 Patient", "科室/服务", "ID"])
            table.rows = rows.map { [FHIRFields.short($0.start), $0.status, $0.patientName ?? $0.patient ?? "", $0.serviceType ?? "", $0.id] }
            print(table.render())
        }
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Book a free slot for a patient.")
        @OptionGroup var server: ServerOptions
        @Option(help: "The Slot id.") var slot: String
        @Option(help: "The Patient id.") var patient: String
        @Flag(help: "Print JSON: the booked appointment, as list gives it.") var json = false

        func run() async throws {
            let booked = try await HubCall.run(self.server) { call in
                let slot = try await call.json("GET", "/fhir/Slot/\(HubCall.query(self.slot))")
                guard slot["status"] as? String == "free" else {
                    throw CLIFailure(message: "Slot/\(self.slot) is not free (\(slot["status"] as? String ?? "unknown")): choose another")
                }
                var appointment: [String: Any] = [
                    "resourceType": "Appointment", "status": "booked",
                    "slot": [["reference": "Slot/\(self.slot)"]],
                    "participant": [["actor": ["reference": "Patient/\(self.patient)"], "status": "accepted"]],
                ]
                appointment["start"] = slot["start"]
                appointment["end"] = slot["end"]
                appointment["serviceType"] = slot["serviceType"]
                return Appointments.row(try await call.json("POST", "/fhir/Appointment", body: appointment), names: [:])
            }
            if self.json { try Output.json(booked) } else { print("booked Appointment/\(booked.id) at \(FHIRFields.short(booked.start))") }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an appointment (its slot is freed).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The Appointment id.") var id: String
        @Option(help: "Why (recorded as the cancellation reason).") var reason: String?

        func run() async throws {
            try await HubCall.run(self.server) { call in
                _ = try await call.update("Appointment/\(HubCall.query(self.id))") { appointment in
                    appointment["status"] = "cancelled"
                    if let reason = self.reason { appointment["cancelationReason"] = ["text": reason] }
                }
            }
            print("cancelled Appointment/\(self.id)")
        }
    }
}
