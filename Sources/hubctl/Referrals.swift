import ArgumentParser
import Foundation

/// `hubctl referrals list|accept|reject|complete`.
struct Referrals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Referrals to and from your organization; accept, reject or complete one addressed to it.",
        subcommands: [List.self, Accept.self, Reject.self, Complete.self],
        defaultSubcommand: List.self
    )

    /// A referral as `--json` gives it: its Task, with what its ServiceRequest says.
    struct Row: Codable {
        var task: String
        var status: String
        var authoredOn: String?
        var patient: String?
        var patientName: String?
        var from: String?
        var to: String?
        var request: String?
        var reason: String?
        var priority: String?
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Referrals addressed to your organization (default), or sent by it.")
        @OptionGroup var server: ServerOptions
        @Flag(help: "Referrals your organization sent.") var outgoing = false
        @Option(help: "Only in this state (requested, received, accepted, rejected, in-progress, completed, cancelled).") var status: String?
        @Flag(help: "Print JSON: {referrals: [{task, status, authoredOn, patient, patientName, from, to, request, reason, priority}]}.") var json =
            false

        func run() async throws {
            let rows = try await HubCall.run(self.server) { call in
                let organization = try await call.organization()
                var query = "\(self.outgoing ? "requester" : "owner")=Organization/\(HubCall.query(organization))"
                if let status { query += "&status=\(HubCall.query(status))" }
                let found = try await call.search("/fhir/Task?\(query)&_include=Task:based-on&_include=Task:patient&_count=200")
                func byReference(_ type: String) -> [String: [String: Any]] {
                    Dictionary(
                        found.filter { $0["resourceType"] as? String == type }.map { ("\(type)/\($0["id"] as? String ?? "")", $0) },
                        uniquingKeysWith: { first, _ in first })
                }
                let requests = byReference("ServiceRequest")
                let patients = byReference("Patient")
                return found.filter { $0["resourceType"] as? String == "Task" }.map { task -> Row in
                    let patient = FHIRFields.reference(task["for"])
                    let request = ((task["basedOn"] as? [Any]) ?? []).map(FHIRFields.reference).first { $0.hasPrefix("ServiceRequest/") }
                    let serviceRequest = request.flatMap { requests[$0] }
                    let reason = ((serviceRequest?["reasonCode"] as? [Any]) ?? []).map(FHIRFields.concept).first
                    return Row(
                        task: "Task/\(task["id"] as? String ?? "")", status: task["status"] as? String ?? "",
                        authoredOn: task["authoredOn"] as? String ?? (task["meta"] as? [String: Any])?["lastUpdated"] as? String,
                        patient: patient, patientName: patients[patient].map(FHIRFields.name),
                        from: FHIRFields.reference(task["requester"]), to: FHIRFields.reference(task["owner"]), request: request,
                        reason: reason, priority: serviceRequest?["priority"] as? String
                    )
                }.sorted { ($0.authoredOn ?? "") > ($1.authoredOn ?? "") }
            }
            if self.json {
                try Output.json(["referrals": rows])
                return
            }
            guard !rows.isEmpty else {
                print("no referrals")
                return
            }
            var table = Table(headers: ["日期 Date", "状态 Status", "患者 Patient", self.outgoing ? "转入 To" : "转出 From", "原因 Reason", "紧急", "Task"])
            table.rows = rows.map {
                [
                    FHIRFields.short($0.authoredOn ?? ""), $0.status, $0.patientName ?? $0.patient ?? "", (self.outgoing ? $0.to : $0.from) ?? "",
                    $0.reason ?? "", $0.priority ?? "", $0.task,
                ]
            }
            print(
                table.render { row, column, text in
                    column == 5 && ["urgent", "asap", "stat"].contains(rows[row].priority ?? "") ? Output.alert(text) : text
                })
        }
    }

    /// Moves a referral's Task along `path` (each step one conditional update), from wherever
    /// on it the Task is now.
    static func advance(_ options: ServerOptions, task id: String, through path: [String], reason: String? = nil) async throws {
        try await HubCall.run(options) { call in
            let reference = "Task/\(HubCall.query(id))"
            let current = try await call.json("GET", "/fhir/\(reference)")["status"] as? String ?? ""
            let steps = path.firstIndex(of: current).map { Array(path[($0 + 1)...]) } ?? path
            guard current != path.last else { return }
            for step in steps {
                _ = try await call.update(reference) { task in
                    task["status"] = step
                    if step == path.last, let reason { task["statusReason"] = ["text": reason] }
                }
            }
        }
        print("Task/\(id): \(path.last ?? "")")
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a referral addressed to your organization (opens the patient's record to it).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The Task id.") var id: String
        func run() async throws { try await Referrals.advance(self.server, task: self.id, through: ["requested", "received", "accepted"]) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a referral addressed to your organization, saying why.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The Task id.") var id: String
        @Option(help: "Why (shown to the referring hospital).") var reason: String
        func run() async throws {
            try await Referrals.advance(self.server, task: self.id, through: ["requested", "received", "rejected"], reason: self.reason)
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Complete an accepted referral.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The Task id.") var id: String
        func run() async throws { try await Referrals.advance(self.server, task: self.id, through: ["accepted", "in-progress", "completed"]) }
    }
}
