import Foundation
import HubAuditCore
import HubClient
import HubConfig
import HubFHIR
import HubTestSupport
import Testing

/// Lab results over HL7 v2 (issue #6): an ORU^R01 posted by a hospital's lab system becomes a
/// DiagnosticReport with its Observations, all or nothing, answered with an ACK.
@Suite struct HL7IntakeTests {
    static let er7 = HL7Fixture.er7

    static func oru(residentID: String, value: String = "5.6", control: String = "MSG1") -> [UInt8] {
        HL7Fixture.oru(residentID: residentID, value: value, control: control)
    }

    static func acknowledgement(_ reply: HubClient.Reply) -> (code: String, text: String) {
        HL7Fixture.acknowledgement(reply.text)
    }

    @Test func aLabResultArrivesAsHL7v2AndIsStoredWhole() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 95)
            let person = people.person()
            let patient = try #require(
                try jsonObject(
                    try await hub.send(
                        "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON(person).utf8),
                        presenting: pki
                    ))["id"] as? String)

            let stored = try await hub.send("POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID), presenting: pki)
            #expect(stored.status == 200)
            #expect(stored.headers.first { $0.name.lowercased() == "content-type" }?.value == "x-application/hl7-v2+er7")
            let ack = Self.acknowledgement(stored)
            #expect(ack.code == "AA", "\(ack.text)")
            #expect(ack.text.contains("|MSG1|"))
            let reports = try jsonObject(
                try await hub.send("GET", "/fhir/DiagnosticReport?subject=Patient/\(patient)&_include=DiagnosticReport:result", presenting: pki))
            let resources = ((reports["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
            #expect(resources.filter { $0["resourceType"] as? String == "DiagnosticReport" }.count == 1)
            let observations = resources.filter { $0["resourceType"] as? String == "Observation" }
            #expect(observations.count == 2)
            let potassium = try #require(
                observations.first { (($0["code"] as? [String: Any])?["coding"] as? [[String: Any]])?.first?["code"] as? String == "2823-3" })
            #expect(((potassium["performer"] as? [[String: Any]])?.first?["reference"]) as? String == "Organization/\(TestHub.Identities.hospital)")
            #expect(((potassium["interpretation"] as? [[String: Any]])?.first?["coding"] as? [[String: Any]])?.first?["code"] as? String == "H")

            // The same message again (its ACK was lost): acknowledged, not stored twice.
            let resent = try await hub.send("POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID), presenting: pki)
            #expect(Self.acknowledgement(resent).code == "AA")
            #expect(resent.text.contains("received and stored before"))
            let once = try jsonObject(try await hub.send("GET", "/fhir/DiagnosticReport?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(once["total"] as? Int == 1)

            // A malformed result: AE naming OBX(5)-5, and nothing of the message is stored.
            let malformed = try await hub.send(
                "POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID, value: "high", control: "MSG2"), presenting: pki)
            let refused = Self.acknowledgement(malformed)
            #expect(refused.code == "AE")
            #expect(refused.text.contains("ERR||OBX^5^5|102"))
            let count = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 2)
            // The AE travelled in a 200, but the trail records a refusal, as over MLLP.
            let trail = try await AuditTrailTests.verifiedLog(hub, pki: pki).filter { $0.interaction == "hl7v2" && $0.status == 200 }
            #expect(trail.contains { $0.outcome == .minorFailure && $0.issue == .value })

            // GB 18030 declared in MSH-18 (bytes written by hand: 血糖 is D1 AA CC C7): read as
            // such, the ACK sent back declaring it; undeclared non-UTF-8 bytes are refused.
            let gb: [UInt8] =
                Array(
                    "MSH|^~\\&|LIS|TEST-LAB|HUB|CITY|202611280845||ORU^R01^ORU_R01|GB1|P|2.5||||||GB 18030-2000\rPID|1||\(person.residentID)^^^^NNCHN\rOBR|1|ORD-2|FIL-10|2345-7^"
                        .utf8)
                + [0xD1, 0xAA, 0xCC, 0xC7]
                + Array("^LN|||202611280830|||||||||||||||202611281030|||F\rOBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L^^UCUM|3.9-6.1|N|||F\r".utf8)
            let chinese = try await hub.send("POST", "/hl7v2", headers: Self.er7, body: gb, presenting: pki)
            #expect(Self.acknowledgement(chinese).code == "AA", "\(chinese.text)")
            #expect(chinese.text.contains("|GB 18030-2000"))
            let glucose = try jsonObject(
                try await hub.send("GET", "/fhir/DiagnosticReport?subject=Patient/\(patient)&code=http://loinc.org|2345-7", presenting: pki))
            let glucoseReport = try #require(((glucose["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
            #expect((glucoseReport["code"] as? [String: Any])?["text"] as? String == "血糖")
            var undeclared = gb
            let declaration = Array("||||||GB 18030-2000".utf8)
            let start = try #require((0...(gb.count - declaration.count)).first { Array(gb[$0..<($0 + declaration.count)]) == declaration })
            undeclared.removeSubrange(start..<(start + declaration.count))
            let refusedBytes = try await hub.send("POST", "/hl7v2", headers: Self.er7, body: undeclared, presenting: pki)
            #expect(Self.acknowledgement(refusedBytes).code == "AR", "\(refusedBytes.text)")
            // A patient the sender may not see is unknown to it; another message type is refused.
            let other = try await hub.send(
                "POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID, control: "MSG3"), presenting: pki.otherHospital)
            #expect(Self.acknowledgement(other).code == "AE")
            #expect(other.text.contains("PID^2^3|204"))
            let adt = String(decoding: Self.oru(residentID: person.residentID), as: UTF8.self).replacingOccurrences(
                of: "ORU^R01^ORU_R01", with: "ADT^A01^ADT_A01")
            #expect(
                Self.acknowledgement(try await hub.send("POST", "/hl7v2", headers: Self.er7, body: Array(adt.utf8), presenting: pki)).code == "AR")
            // Not HL7: 415; not a hospital system: 403; no credentials: 401.
            #expect(
                try await hub.send(
                    "POST", "/hl7v2", headers: [("Content-Type", "text/plain")], body: Self.oru(residentID: person.residentID), presenting: pki
                ).status == 415)
            #expect(
                try await hub.send("POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID), presenting: pki.regulator)
                    .status == 403)
            #expect(try await hub.send("POST", "/hl7v2", headers: Self.er7, body: Self.oru(residentID: person.residentID)).status == 401)
        }
    }
}
