import Foundation
public import HubFHIR

/// An ORU^R01 (v2.5) unsolicited lab result: the patient's identifiers and, per order (OBR),
/// its results (OBX) — what the hub maps to a DiagnosticReport and its Observations.
public struct LabReportMessage: Sendable {
    public var message: HL7Message
    /// MSH-10: the sender's id of this message, echoed in the ACK.
    public var controlID: String
    /// PID-3: every identifier of the patient, as (value, identifier type code).
    public var patientIdentifiers: [(value: String, type: String?)]
    public var orders: [Order]

    public struct Order: Sendable {
        public var segment: HL7Message.Segment
        public var results: [HL7Message.Segment]
    }

    /// The message types and versions accepted.
    public static let versions: Set<String> = ["2.5", "2.5.1"]

    public init(_ message: HL7Message) throws(HL7Error) {
        self.message = message
        guard let header = message.segments.first, header.id == "MSH" else {
            throw HL7Error(rejected: true, .segmentSequenceError, segment: "MSH", sequence: 1, "a message starts with an MSH segment")
        }
        let type = message.components(header, 9)
        guard type.count >= 2, type[0] == "ORU", type[1] == "R01" else {
            throw HL7Error(
                rejected: true, .unsupportedMessageType, segment: "MSH", sequence: 1, field: 9,
                "only ORU^R01 (unsolicited observation results) is accepted, not \(type.prefix(2).joined(separator: "^"))")
        }
        guard let version = message.value(header, 12), Self.versions.contains(version) else {
            throw HL7Error(rejected: true, .unsupportedVersion, segment: "MSH", sequence: 1, field: 12, "HL7 version 2.5 or 2.5.1 is accepted")
        }
        guard let control = message.value(header, 10) else {
            throw HL7Error(rejected: true, .requiredFieldMissing, segment: "MSH", sequence: 1, field: 10, "MSH-10 (message control id) is required")
        }
        self.controlID = control
        guard let pid = message.segments("PID").first else {
            throw HL7Error(.segmentSequenceError, segment: "PID", "an ORU^R01 names its patient in a PID segment")
        }
        self.patientIdentifiers = message.repetitions(pid, 3).compactMap { cx in
            guard let value = cx.first, !value.isEmpty else { return nil }
            return (value, cx.count > 4 && !cx[4].isEmpty ? cx[4] : nil)
        }
        guard !self.patientIdentifiers.isEmpty else {
            throw HL7Error(.requiredFieldMissing, segment: "PID", sequence: pid.sequence, field: 3, "PID-3 (patient identifiers) is required")
        }
        // OBX segments belong to the OBR before them; NTE and others are skipped.
        var orders: [Order] = []
        for segment in message.segments.dropFirst() {
            switch segment.id {
            case "OBR": orders.append(Order(segment: segment, results: []))
            case "OBX":
                guard !orders.isEmpty else {
                    throw HL7Error(.segmentSequenceError, segment: "OBX", sequence: segment.sequence, "an OBX follows the OBR it belongs to")
                }
                orders[orders.count - 1].results.append(segment)
            default: continue
            }
        }
        guard !orders.isEmpty, orders.allSatisfy({ !$0.results.isEmpty }) else {
            throw HL7Error(.segmentSequenceError, segment: "OBR", "an ORU^R01 carries at least one OBR, each with its OBX results")
        }
        self.orders = orders
    }

    /// The FHIR resources of the message, in the order to write them: per order its Observations,
    /// then a DiagnosticReport whose results they are — ids from `newID`, all for `patient` and
    /// performed by `performer` (`Organization/<id>`). Time zones missing from HL7 times are taken
    /// as `defaultOffset` (China Standard Time by default).
    public func resources(patient: String, performer: String, defaultOffset: String = "+08:00", newID: () -> String) throws(HL7Error) -> [(
        type: ResourceType, id: String, resource: JSONObject
    )] {
        var output: [(ResourceType, String, JSONObject)] = []
        let subject = JSONValue.object(JSONObject([("reference", .string("Patient/\(patient)"))]))
        let performers = JSONValue.array([.object(JSONObject([("reference", .string(performer))]))])
        for order in self.orders {
            let obr = order.segment
            let code = try self.codeableConcept(obr, 4, required: true)
            var resultURLs: [JSONValue] = []
            var effective: String?
            if let time = self.message.value(obr, 7) { effective = try Self.dateTime(time, offset: defaultOffset, at: obr, field: 7) }
            for obx in order.results {
                let id = newID()
                var observation = JSONObject([
                    ("resourceType", .string("Observation")),
                    ("status", .string(try Self.status(self.message.value(obx, 11) ?? "F", at: obx, field: 11))),
                    (
                        "category",
                        .array([
                            .object(
                                JSONObject([
                                    (
                                        "coding",
                                        .array([
                                            .object(
                                                JSONObject([
                                                    ("system", .string("http://terminology.hl7.org/CodeSystem/observation-category")),
                                                    ("code", .string("laboratory")),
                                                ]))
                                        ])
                                    )
                                ]))
                        ])
                    ),
                    ("code", try self.codeableConcept(obx, 3, required: true)),
                    ("subject", subject),
                ])
                if let time = self.message.value(obx, 14) {
                    observation["effectiveDateTime"] = .string(try Self.dateTime(time, offset: defaultOffset, at: obx, field: 14))
                } else if let effective {
                    observation["effectiveDateTime"] = .string(effective)
                }
                observation["performer"] = performers
                let units = self.message.components(obx, 6)
                switch self.message.value(obx, 2) ?? "" {
                case "NM", "SN":
                    guard let text = self.message.value(obx, 5), let number = Self.decimal(text) else {
                        throw HL7Error(.dataTypeError, segment: "OBX", sequence: obx.sequence, field: 5, "a numeric (NM) result needs a number")
                    }
                    var quantity = JSONObject([("value", .number(number))])
                    if let unit = units.first, !unit.isEmpty {
                        quantity["unit"] = .string(unit)
                        quantity["system"] = .string("http://unitsofmeasure.org")
                        quantity["code"] = .string(unit)
                    }
                    observation["valueQuantity"] = .object(quantity)
                    if let range = self.message.value(obx, 7), let reference = Self.referenceRange(range, unit: units.first) {
                        observation["referenceRange"] = .array([.object(reference)])
                    }
                case "ST", "TX", "FT":
                    guard let text = self.message.value(obx, 5) else {
                        throw HL7Error(.requiredFieldMissing, segment: "OBX", sequence: obx.sequence, field: 5, "the result value is missing")
                    }
                    observation["valueString"] = .string(text)
                case "CE", "CWE":
                    observation["valueCodeableConcept"] = try self.codeableConcept(obx, 5, required: true)
                default:
                    throw HL7Error(
                        .tableValueNotFound, segment: "OBX", sequence: obx.sequence, field: 2, "value type must be NM, SN, ST, TX, FT, CE or CWE")
                }
                if let flag = self.message.value(obx, 8) {
                    guard let interpretation = Self.interpretations[flag] else {
                        throw HL7Error(
                            .tableValueNotFound, segment: "OBX", sequence: obx.sequence, field: 8,
                            "abnormal flag \(flag) is not one of \(Self.interpretations.keys.sorted().joined(separator: ", "))")
                    }
                    observation["interpretation"] = .array([
                        .object(
                            JSONObject([
                                (
                                    "coding",
                                    .array([
                                        .object(
                                            JSONObject([
                                                ("system", .string("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation")),
                                                ("code", .string(interpretation)),
                                            ]))
                                    ])
                                )
                            ]))
                    ])
                }
                output.append((.observation, id, observation))
                resultURLs.append(.object(JSONObject([("reference", .string("Observation/\(id)"))])))
            }
            var report = JSONObject([
                ("resourceType", .string("DiagnosticReport")),
                ("status", .string(try Self.reportStatus(self.message.value(obr, 25) ?? "F", at: obr))),
                (
                    "category",
                    .array([
                        .object(
                            JSONObject([
                                (
                                    "coding",
                                    .array([
                                        .object(
                                            JSONObject([
                                                ("system", .string("http://terminology.hl7.org/CodeSystem/v2-0074")), ("code", .string("LAB")),
                                            ]))
                                    ])
                                )
                            ]))
                    ])
                ),
                ("code", code),
                ("subject", subject),
            ])
            if let filler = self.message.value(obr, 3) {
                report["identifier"] = .array([.object(JSONObject([("value", .string(filler))]))])
            }
            if let effective { report["effectiveDateTime"] = .string(effective) }
            if let issued = self.message.value(obr, 22) {
                report["issued"] = .string(try Self.instant(issued, offset: defaultOffset, at: obr, field: 22))
            }
            report["performer"] = performers
            report["result"] = .array(resultURLs)
            output.append((.diagnosticReport, newID(), report))
        }
        return output
    }

    /// A CE/CWE field as a CodeableConcept: `LN` is LOINC.
    func codeableConcept(_ segment: HL7Message.Segment, _ field: Int, required: Bool) throws(HL7Error) -> JSONValue {
        let parts = self.message.components(segment, field)
        guard let code = parts.first, !code.isEmpty else {
            throw HL7Error(
                .requiredFieldMissing, segment: segment.id, sequence: segment.sequence, field: field, "a coded value (code^text^system) is required")
        }
        var coding = JSONObject([("code", .string(code))])
        if parts.count > 2, !parts[2].isEmpty { coding["system"] = .string(Self.codeSystems[parts[2]] ?? "urn:hl7-v2:coding-system:\(parts[2])") }
        if parts.count > 1, !parts[1].isEmpty { coding["display"] = .string(parts[1]) }
        var concept = JSONObject([("coding", .array([.object(coding)]))])
        if parts.count > 1, !parts[1].isEmpty { concept["text"] = .string(parts[1]) }
        return .object(concept)
    }

    static let codeSystems = ["LN": "http://loinc.org", "SCT": "http://snomed.info/sct", "UCUM": "http://unitsofmeasure.org"]
    static let interpretations = ["N": "N", "H": "H", "L": "L", "HH": "HH", "LL": "LL", "A": "A", "AA": "AA", "<": "<", ">": ">"]

    static func status(_ code: String, at segment: HL7Message.Segment, field: Int) throws(HL7Error) -> String {
        switch code {
        case "F": return "final"
        case "P", "R", "S": return "preliminary"
        case "C": return "corrected"
        case "X": return "cancelled"
        case "W": return "entered-in-error"
        default:
            throw HL7Error(
                .tableValueNotFound, segment: segment.id, sequence: segment.sequence, field: field,
                "result status \(code) is not F, P, R, S, C, X or W")
        }
    }

    static func reportStatus(_ code: String, at segment: HL7Message.Segment) throws(HL7Error) -> String {
        switch code {
        case "F": return "final"
        case "P", "R", "S", "I", "O": return "preliminary"
        case "C": return "corrected"
        case "X": return "cancelled"
        default:
            throw HL7Error(
                .tableValueNotFound, segment: segment.id, sequence: segment.sequence, field: 25, "result status \(code) is not F, P, C or X")
        }
    }

    /// A decimal as FHIR writes it (no exponent, no leading `+`).
    static func decimal(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.wholeMatch(of: /-?(0|[1-9][0-9]*)(\.[0-9]+)?/) != nil else {
            if let value = Double(trimmed), value.isFinite, trimmed.wholeMatch(of: /-?[0-9]*\.?[0-9]+/) != nil { return String(value) }
            return nil
        }
        return trimmed
    }

    /// `3.5-5.5` (also `<5`, `>0.3`) as a FHIR reference range.
    static func referenceRange(_ text: String, unit: String?) -> JSONObject? {
        func quantity(_ value: String) -> JSONValue? {
            guard let number = Self.decimal(value) else { return nil }
            var quantity = JSONObject([("value", .number(number))])
            if let unit, !unit.isEmpty {
                quantity["unit"] = .string(unit)
                quantity["system"] = .string("http://unitsofmeasure.org")
                quantity["code"] = .string(unit)
            }
            return .object(quantity)
        }
        var range = JSONObject()
        if text.hasPrefix("<") {
            range["high"] = quantity(String(text.dropFirst()))
        } else if text.hasPrefix(">") {
            range["low"] = quantity(String(text.dropFirst()))
        } else {
            let bounds = text.split(separator: "-", maxSplits: 1).map(String.init)
            guard bounds.count == 2 else { return nil }
            range["low"] = quantity(bounds[0])
            range["high"] = quantity(bounds[1])
        }
        return range.members.isEmpty ? nil : range
    }

    /// HL7 DTM as a FHIR dateTime (``HL7DateTime``), or an error locating the field.
    static func dateTime(_ text: String, offset: String, at segment: HL7Message.Segment, field: Int) throws(HL7Error) -> String {
        guard let value = HL7DateTime.fhirDateTime(text, defaultOffset: offset) else {
            throw HL7Error(
                .dataTypeError, segment: segment.id, sequence: segment.sequence, field: field,
                "\(text) is not an HL7 date/time (YYYYMMDDHHMM[SS][+ZZZZ])")
        }
        return value
    }

    /// An HL7 DTM to the second or finer, as a FHIR instant.
    static func instant(_ text: String, offset: String, at segment: HL7Message.Segment, field: Int) throws(HL7Error) -> String {
        let value = try Self.dateTime(text, offset: offset, at: segment, field: field)
        guard value.count >= 20 else {
            throw HL7Error(.dataTypeError, segment: segment.id, sequence: segment.sequence, field: field, "\(text) must give the time to the second")
        }
        return value
    }
}
