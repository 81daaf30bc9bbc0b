import ArgumentParser
import Foundation

/// `hubctl patient find|show`.
struct PatientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient",
        abstract: "Find a patient, and show one.",
        subcommands: [Find.self, Show.self]
    )

    /// A patient as `--json` gives it (stable: fields are only ever added).
    struct Summary: Codable {
        struct Identifier: Codable {
            var system: String?
            var value: String?
        }

        var id: String
        var name: String
        var gender: String?
        var birthDate: String?
        var identifiers: [Identifier]
        var managingOrganization: String?
        var phone: String?
        var address: String?

        init(_ resource: [String: Any]) {
            self.id = resource["id"] as? String ?? ""
            self.name = FHIRFields.name(resource)
            self.gender = resource["gender"] as? String
            self.birthDate = resource["birthDate"] as? String
            self.identifiers = ((resource["identifier"] as? [[String: Any]]) ?? []).map {
                Identifier(system: $0["system"] as? String, value: $0["value"] as? String)
            }
            let organization = FHIRFields.reference(resource["managingOrganization"])
            self.managingOrganization = organization.isEmpty ? nil : organization
            self.phone = ((resource["telecom"] as? [[String: Any]]) ?? []).first { $0["system"] as? String == "phone" }?["value"] as? String
            let address = (resource["address"] as? [[String: Any]])?.first
            self.address = address.flatMap {
                $0["text"] as? String ?? ([$0["city"], $0["district"]].compactMap { $0 as? String } + ($0["line"] as? [String] ?? [])).joined()
            }
        }

        var residentID: String? {
            self.identifiers.first { $0.system == FHIRFields.residentIDSystem }?.value
        }

        static let genders = ["male": "男", "female": "女", "other": "其他", "unknown": "未知"]
    }

    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find patients by resident ID, card number, medical record number, or name and birth date.",
            discussion: "Exit 3 when none is found (among the patients your organization may see)."
        )
        @OptionGroup var server: ServerOptions
        @Option(name: .customLong("resident-id"), help: "Resident identity card number (18 characters).") var residentID: String?
        @Option(help: "Social-security / citizen card number.") var card: String?
        @Option(help: "A hospital's medical record number.") var mrn: String?
        @Option(help: "Name (with --birth-date).") var name: String?
        @Option(name: .customLong("birth-date"), help: "Birth date YYYY-MM-DD (with --name).") var birthDate: String?
        @Flag(help: "Print JSON: {patients: [{id, name, gender, birthDate, identifiers[{system, value}], managingOrganization, phone, address}]}.")
        var json = false

        func validate() throws {
            let given = [self.residentID, self.card, self.mrn].compactMap { $0 }.count + ((self.name != nil || self.birthDate != nil) ? 1 : 0)
            guard given == 1 else { throw ValidationError("give one of --resident-id, --card, --mrn, or --name with --birth-date") }
            if (self.name == nil) != (self.birthDate == nil) { throw ValidationError("--name and --birth-date go together") }
        }

        var query: String {
            if let residentID { return "identifier=\(HubCall.query("\(FHIRFields.residentIDSystem)|\(residentID)"))" }
            if let card { return "identifier=\(HubCall.query("\(FHIRFields.cardSystem)|\(card)"))" }
            if let mrn { return "identifier=\(HubCall.query(mrn))" }
            return "name=\(HubCall.query(self.name ?? ""))&birthdate=\(HubCall.query(self.birthDate ?? ""))"
        }

        func run() async throws {
            let found = try await HubCall.run(self.server) { call in
                try await call.search("/fhir/Patient?\(self.query)&_count=50", limit: 50).map(Summary.init)
            }
            if self.json {
                try Output.json(["patients": found])
            } else if !found.isEmpty {
                var table = Table(headers: ["ID", "姓名 Name", "性别", "出生日期", "身份证号 Resident ID"])
                for patient in found {
                    table.rows.append([
                        patient.id, patient.name, patient.gender.flatMap { Summary.genders[$0] } ?? "", patient.birthDate ?? "",
                        patient.residentID.map(FHIRFields.masked) ?? "",
                    ])
                }
                print(table.render())
            }
            if found.isEmpty {
                throw CLIFailure(message: "no patient found (among those your organization may see)", exitCode: 3).exit()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one patient.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The Patient id.") var id: String
        @Flag(help: "Print JSON: the same shape as one of patient find's patients.") var json = false

        func run() async throws {
            let patient = try await HubCall.run(self.server) { call in
                Summary(try await call.json("GET", "/fhir/Patient/\(HubCall.query(self.id))"))
            }
            if self.json {
                try Output.json(patient)
                return
            }
            var table = Table(headers: ["", ""])
            table.rows = [
                ["ID", patient.id], ["姓名 Name", patient.name],
                ["性别 Gender", patient.gender.flatMap { Summary.genders[$0] } ?? ""], ["出生日期 Born", patient.birthDate ?? ""],
            ]
            for identifier in patient.identifiers {
                let label =
                    identifier.system == FHIRFields.residentIDSystem ? "身份证号" : identifier.system == FHIRFields.cardSystem ? "社保卡号" : "病案号 MRN"
                table.rows.append([label, identifier.value ?? ""])
            }
            if let phone = patient.phone { table.rows.append(["电话 Phone", phone]) }
            if let address = patient.address { table.rows.append(["住址 Address", address]) }
            if let organization = patient.managingOrganization { table.rows.append(["管理机构", organization]) }
            print(table.render().split(separator: "\n").dropFirst(2).joined(separator: "\n"))
        }
    }
}
