import ArgumentParser
import Foundation

/// `hubctl labs`: a patient's latest results, from every organization that may be seen.
struct Labs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A patient's latest lab results: value, unit, reference range, abnormal flag, performing organization, mutual recognition.",
        discussion: "Without --since: the latest result of each test (Observation/$lastn). With --since: every result from that date, newest first."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The Patient id.") var patient: String
    @Option(help: "Only this LOINC code (repeat).") var code: [String] = []
    @Option(help: "Every result from this date (YYYY-MM-DD).") var since: String?
    @Option(help: "Results per test without --since (1-100).") var max = 1
    @Flag(help: "Print JSON: {patient, results: [{id, date, code, display, value, unit, referenceRange, interpretation, performer, recognized}]}.")
    var json = false

    struct Result: Codable {
        var id: String
        var date: String
        var code: String?
        var display: String
        var value: String
        var unit: String?
        var referenceRange: String?
        var interpretation: String?
        var performer: String?
        var recognized: Bool

        init(_ observation: [String: Any]) {
            self.id = observation["id"] as? String ?? ""
            self.date = FHIRFields.date(observation, ["effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"])
            self.code = FHIRFields.coding(observation["code"]).code
            self.display = FHIRFields.concept(observation["code"])
            if let quantity = observation["valueQuantity"] as? [String: Any] {
                self.value = (quantity["value"]).map { "\($0)" } ?? ""
                self.unit = quantity["unit"] as? String ?? quantity["code"] as? String
            } else {
                self.value = observation["valueString"] as? String ?? FHIRFields.concept(observation["valueCodeableConcept"])
            }
            if let range = (observation["referenceRange"] as? [[String: Any]])?.first {
                let low = ((range["low"] as? [String: Any])?["value"]).map { "\($0)" }
                let high = ((range["high"] as? [String: Any])?["value"]).map { "\($0)" }
                self.referenceRange =
                    range["text"] as? String
                    ?? {
                        switch (low, high) {
                        case (let low?, let high?): "\(low)-\(high)"
                        case (let low?, nil): ">\(low)"
                        case (nil, let high?): "<\(high)"
                        case (nil, nil): nil
                        }
                    }()
            }
            self.interpretation = FHIRFields.coding((observation["interpretation"] as? [Any])?.first).code
            let performer = FHIRFields.reference((observation["performer"] as? [Any])?.first)
            self.performer = performer.isEmpty ? nil : performer
            let tags = ((observation["meta"] as? [String: Any])?["tag"] as? [[String: Any]]) ?? []
            self.recognized = tags.contains {
                $0["system"] as? String == "urn:health-hub:mutual-recognition" && $0["code"] as? String == "recognized"
            }
        }

        var isAbnormal: Bool { !["N", nil].contains(self.interpretation) }
    }

    func validate() throws {
        guard (1...100).contains(self.max) else { throw ValidationError("--max is 1 to 100") }
    }

    func run() async throws {
        let patient = HubCall.query(self.patient)
        let codes = self.code.map { HubCall.query("http://loinc.org|\($0)") }.joined(separator: ",")
        let path: String
        if let since {
            path =
                "/fhir/Observation?patient=Patient/\(patient)&date=ge\(HubCall.query(since))&_sort=-date&_count=200"
                + (codes.isEmpty ? "" : "&code=\(codes)")
        } else {
            path = "/fhir/Observation/$lastn?patient=\(patient)&max=\(self.max)" + (codes.isEmpty ? "" : "&code=\(codes)")
        }
        let results = try await HubCall.run(self.server) { call in
            try await call.search(path, limit: 5_000).filter { $0["resourceType"] as? String == "Observation" }.map(Result.init)
        }
        if self.json {
            try Output.json(LabReport(patient: self.patient, results: results))
            return
        }
        guard !results.isEmpty else {
            print("no results")
            return
        }
        var table = Table(headers: ["日期 Date", "项目 Test", "结果", "单位", "参考范围", "标志", "检验机构 Performed by", "互认"])
        table.rows = results.map {
            [
                FHIRFields.short($0.date), $0.display, $0.value, $0.unit ?? "", $0.referenceRange ?? "", $0.interpretation ?? "", $0.performer ?? "",
                $0.recognized ? "✓" : "",
            ]
        }
        print(
            table.render { row, column, text in
                (column == 2 || column == 5) && results[row].isAbnormal ? Output.alert(text) : text
            })
    }

    struct LabReport: Encodable {
        var patient: String
        var results: [Result]
    }
}
