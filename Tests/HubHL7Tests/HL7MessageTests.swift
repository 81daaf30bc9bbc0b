import Foundation
import HubFHIR
import HubHL7
import Testing

@Suite struct HL7MessageTests {
    static func oru(
        pid3: String = "110101199003074477^^^^NNCHN~MRN-0042^^^^MR",
        value: String = "5.6", type: String = "NM", flag: String = "N", time: String = "202611280830", status: String = "F",
        messageType: String = "ORU^R01^ORU_R01", separator: String = "\r"
    ) -> String {
        [
            "MSH|^~\\&|LIS|COUNTY-LAB|HUB|CITY|202611280845||\(messageType)|MSG00042|P|2.5",
            "PID|1||\(pid3)||张^伟||19900307|M",
            "OBR|1|ORD-1|FIL-9|24323-8^Comprehensive metabolic 2000 panel^LN|||\(time)|||||||||||||||202611281030|||\(status)",
            "OBX|1|\(type)|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||\(value)|mmol/L^^UCUM|3.9-6.1|\(flag)|||F|||202611280830+0800",
            "NTE|1||fasting sample, escaped \\F\\ pipe",
            "OBX|2|ST|8251-1^Service comment^LN||haemolysed \\S\\ repeat advised||||||F",
        ].joined(separator: separator) + separator
    }

    @Test func parsesFieldsComponentsRepetitionsAndEscapes() throws {
        let message = try HL7Message(parsing: Self.oru())
        #expect(message.segments.map(\.id) == ["MSH", "PID", "OBR", "OBX", "NTE", "OBX"])
        let msh = try #require(message.segments.first)
        #expect(message.value(msh, 1) == "|")
        #expect(message.value(msh, 9) == "ORU")
        #expect(message.components(msh, 9) == ["ORU", "R01", "ORU_R01"])
        #expect(message.value(msh, 10) == "MSG00042")
        let pid = try #require(message.segments("PID").first)
        #expect(message.repetitions(pid, 3).map { $0.first } == ["110101199003074477", "MRN-0042"])
        let obx = message.segments("OBX")[1]
        #expect(message.value(obx, 5) == "haemolysed ^ repeat advised")
        #expect(message.value(message.segments("NTE")[0], 3) == "fasting sample, escaped | pipe")
    }

    @Test func honoursTheDelimitersTheMessageDeclaresAndAnyLineEnd() throws {
        let custom = Self.oru().replacingOccurrences(of: "|", with: "#")
        let message = try HL7Message(parsing: custom.replacingOccurrences(of: "\r", with: "\r\n"))
        #expect(message.delimiters.field == "#")
        #expect(message.value(message.segments("OBX")[0], 5) == "5.6")
        #expect(try HL7Message(parsing: Self.oru(separator: "\n")).segments.count == 6)
    }

    @Test(arguments: ["", "PID|1", "MSH|", "MSH|^^^^|x", "MSH|^~\\&|A\rpid|1"])
    func refusesWhatIsNotAMessage(text: String) {
        #expect(throws: HL7Error.self) { try HL7Message(parsing: text) }
    }

    @Test func mapsAnORUToADiagnosticReportWithItsObservations() throws {
        let report = try LabReportMessage(try HL7Message(parsing: Self.oru()))
        #expect(report.controlID == "MSG00042")
        #expect(report.patientIdentifiers.map(\.value) == ["110101199003074477", "MRN-0042"])
        var counter = 0
        let resources = try report.resources(patient: "p1", performer: "Organization/county-lab") {
            counter += 1
            return "id\(counter)"
        }
        #expect(resources.map(\.type) == [.observation, .observation, .diagnosticReport])
        let glucose = resources[0].resource
        #expect(glucose["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["system"]?.stringValue == "http://loinc.org")
        #expect(glucose["valueQuantity"]?.objectValue?["value"] == .number("5.6"))
        #expect(glucose["valueQuantity"]?.objectValue?["code"]?.stringValue == "mmol/L")
        #expect(glucose["referenceRange"]?.arrayValue?.first?.objectValue?["low"]?.objectValue?["value"] == .number("3.9"))
        #expect(glucose["interpretation"]?.arrayValue?.first?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue == "N")
        #expect(glucose["effectiveDateTime"]?.stringValue == "2026-11-28T08:30:00+08:00")
        #expect(resources[1].resource["valueString"]?.stringValue == "haemolysed ^ repeat advised")
        // A time without a zone takes the default offset; the report names its results.
        let diagnostic = resources[2].resource
        #expect(diagnostic["effectiveDateTime"]?.stringValue == "2026-11-28T08:30:00+08:00")
        #expect(diagnostic["issued"]?.stringValue == "2026-11-28T10:30:00+08:00")
        #expect(diagnostic["status"]?.stringValue == "final")
        #expect(diagnostic["result"]?.arrayValue?.compactMap { $0.objectValue?["reference"]?.stringValue } == ["Observation/id1", "Observation/id2"])
        #expect(diagnostic["performer"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "Organization/county-lab")
    }

    @Test(arguments: [
        (Self.oru(messageType: "ADT^A01"), true, "MSH(1)-9"),
        (Self.oru(value: "five"), false, "OBX(4)-5"),
        (Self.oru(type: "ZZ"), false, "OBX(4)-2"),
        (Self.oru(flag: "Q"), false, "OBX(4)-8"),
        (Self.oru(time: "2026-11-28"), false, "OBR(3)-7"),
        (Self.oru(status: "Z"), false, "OBR(3)-25"),
        (Self.oru(pid3: ""), false, "PID(2)-3"),
    ])
    func locatesWhatIsWrong(text: String, rejected: Bool, location: String) throws {
        do {
            let report = try LabReportMessage(try HL7Message(parsing: text))
            _ = try report.resources(patient: "p1", performer: "Organization/x") { "id" }
            Issue.record("accepted a bad message")
        } catch {
            #expect(error.rejected == rejected)
            #expect(error.location == location)
        }
    }

    @Test func acknowledgementsEchoTheControlIDAndLocateErrors() throws {
        let message = try HL7Message(parsing: Self.oru())
        let accepted = HL7Acknowledgement(code: .accepted, text: "stored").encoded(answering: message, controlID: "ACK1")
        let ack = try HL7Message(parsing: accepted)
        #expect(ack.components(ack.segments[0], 9) == ["ACK", "R01", "ACK"])
        #expect(ack.value(ack.segments[0], 5) == "LIS")
        #expect(ack.value(ack.segments[1], 1) == "AA")
        #expect(ack.value(ack.segments[1], 2) == "MSG00042")
        let error = HL7Error(.dataTypeError, segment: "OBX", sequence: 4, field: 5, "a numeric (NM) result needs a number | not text")
        let refused = try HL7Message(parsing: HL7Acknowledgement(error).encoded(answering: message, controlID: "ACK2"))
        #expect(refused.value(refused.segments[1], 1) == "AE")
        let err = try #require(refused.segments("ERR").first)
        #expect(refused.components(err, 2) == ["OBX", "4", "5"])
        #expect(refused.components(err, 3).first == "102")
        #expect(refused.value(err, 8) == "a numeric (NM) result needs a number | not text")
    }
}
