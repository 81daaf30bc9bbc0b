import ArgumentParser
import Foundation

/// `hubctl history`: a patient's case history as a time line.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A patient's case history as a time line: encounters, diagnoses, procedures, medication, allergies, reports, documents."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The Patient id.") var patient: String
    @Option(help: "Only from this date (YYYY-MM-DD).") var since: String?
    @Option(help: "Only these kinds (repeat): encounter, diagnosis, procedure, medication, allergy, report, document.") var kind: [Kind] = []
    @Flag(help: "Print JSON: {patient, entries: [{date, kind, summary, reference}]}, oldest first.") var json = false

    enum Kind: String, Codable, CaseIterable, ExpressibleByArgument {
        case encounter, diagnosis, procedure, medication, allergy, report, document

        var label: String {
            switch self {
            case .encounter: "就诊"
            case .diagnosis: "诊断"
            case .procedure: "手术操作"
            case .medication: "用药"
            case .allergy: "过敏"
            case .report: "报告"
            case .document: "文书"
            }
        }
    }

    struct Entry: Codable {
        var date: String
        var kind: Kind
        var summary: String
        var reference: String
    }

    /// The entry a resource of the record makes, if it is one the time line shows.
    static func entry(_ resource: [String: Any]) -> Entry? {
        let type = resource["resourceType"] as? String ?? ""
        let reference = "\(type)/\(resource["id"] as? String ?? "")"
        func make(_ kind: Kind, _ dates: [String], _ summary: String) -> Entry {
            Entry(date: FHIRFields.date(resource, dates), kind: kind, summary: summary, reference: reference)
        }
        switch type {
        case "Encounter":
            let what = [FHIRFields.concept((resource["type"] as? [Any])?.first), FHIRFields.concept(resource["serviceType"])].filter { !$0.isEmpty }
                .joined(separator: " ")
            let place = FHIRFields.reference(resource["serviceProvider"])
            return make(
                .encounter, ["period"],
                [what.isEmpty ? ((resource["class"] as? [String: Any])?["code"] as? String ?? "") : what, place].filter { !$0.isEmpty }.joined(
                    separator: " @ "))
        case "Condition": return make(.diagnosis, ["onsetDateTime", "onsetPeriod", "recordedDate"], FHIRFields.concept(resource["code"]))
        case "Procedure": return make(.procedure, ["performedDateTime", "performedPeriod"], FHIRFields.concept(resource["code"]))
        case "MedicationRequest": return make(.medication, ["authoredOn"], FHIRFields.concept(resource["medicationCodeableConcept"]))
        case "AllergyIntolerance": return make(.allergy, ["onsetDateTime", "recordedDate"], FHIRFields.concept(resource["code"]))
        case "DiagnosticReport": return make(.report, ["effectiveDateTime", "effectivePeriod", "issued"], FHIRFields.concept(resource["code"]))
        case "DocumentReference":
            let title = resource["description"] as? String ?? FHIRFields.concept(resource["type"])
            return make(.document, ["date"], title)
        case "Composition": return make(.document, ["date"], resource["title"] as? String ?? FHIRFields.concept(resource["type"]))
        default: return nil
        }
    }

    func run() async throws {
        let resources = try await HubCall.run(self.server) { call in
            let found = try await call.search("/fhir/Patient/\(HubCall.query(self.patient))/$everything?_count=200", limit: 20_000) { count in
                Output.progress("reading the record… \(count)")
            }
            Output.endProgress()
            return found
        }
        var entries = resources.compactMap(Self.entry).filter { self.kind.isEmpty || self.kind.contains($0.kind) }
        if let since { entries = entries.filter { !$0.date.isEmpty && $0.date >= since } }
        entries.sort { ($0.date, $0.reference) < ($1.date, $1.reference) }
        if self.json {
            try Output.json(HistoryReport(patient: self.patient, entries: entries))
            return
        }
        guard !entries.isEmpty else {
            print("no entries")
            return
        }
        var table = Table(headers: ["日期 Date", "类别", "内容 Summary", "Reference"])
        table.rows = entries.map { [FHIRFields.short($0.date), $0.kind.label, $0.summary, $0.reference] }
        print(table.render())
    }

    struct HistoryReport: Encodable {
        var patient: String
        var entries: [Entry]
    }
}
