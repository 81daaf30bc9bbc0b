import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// "Never log patient data or secrets", checked the way an operator's log store would see it:
/// a hub logging everything it logs at trace level serves a day's worth of requests — writes,
/// reads, searches by name and resident ID, a refused duplicate, a malformed resource, HL7 v2
/// results, a CDA document, a bearer token, an outsider — and its log must not hold a patient's
/// name, resident ID number, record number or birth date, nor the token.
@Suite struct PatientDataNotLoggedTests {
    static let json = [("Content-Type", "application/fhir+json")]

    @Test func aHubLoggingAtTraceLevelLogsNoPatientParticularsAndNoToken() async throws {
        let capture = LogCapture()
        let pki = try TestEnvironment.pki()
        var people = SyntheticPatients(seed: 8080)
        let person = people.person(number: 77_123)
        let patientJSON = people.patientJSON(person)
        // How a logged URL would spell the name (percent-encoded UTF-8).
        let name = (person.family + person.given).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let mrn = try #require(patientJSON.range(of: #"MRN\d+"#, options: .regularExpression).map { String(patientJSON[$0]) })
        let token = try await withHub({ $0.tls.clientAuthentication = .optional }, logger: capture.logger("test.hub")) { hub in
            let created = try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(patientJSON.utf8), presenting: pki)
            #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
            let patient = try #require(try jsonObject(created)["id"] as? String)
            for path in [
                "/fhir/Patient/\(patient)", "/fhir/Patient?name=\(name)", "/fhir/Patient?name:contains=\(name)",
                "/fhir/Patient?identifier=urn:health-hub:sid:resident-id%7C\(person.residentID)", "/fhir/Patient?identifier=\(mrn)",
                "/fhir/Patient?birthdate=\(person.birthDate)", "/fhir/Patient/\(patient)/$everything",
            ] {
                #expect(try await hub.send("GET", path, presenting: pki).status == 200, "\(path)")
            }
            // Refused: a second patient with the same resident ID, a malformed one, an outsider.
            #expect(try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(patientJSON.utf8), presenting: pki).status == 409)
            let malformed = patientJSON.replacingOccurrences(of: person.birthDate, with: person.birthDate + "T25:99")
            #expect(try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(malformed.utf8), presenting: pki).status >= 400)
            #expect(try await hub.send("GET", "/fhir/Patient?identifier=\(person.residentID)", presenting: pki.otherHospital).status == 200)
            // Lab results over HL7 v2, one of them refused; a discharge summary as CDA.
            let er7 = [("Content-Type", "x-application/hl7-v2+er7")]
            #expect(
                try await hub.send("POST", "/hl7v2", headers: er7, body: HL7IntakeTests.oru(residentID: person.residentID), presenting: pki).status
                    == 200)
            _ = try await hub.send(
                "POST", "/hl7v2", headers: er7, body: HL7IntakeTests.oru(residentID: person.residentID, value: "high", control: "M2"), presenting: pki
            )
            let cda = Data(SyntheticPatients.dischargeSummaryCDA(person, day: "2026-12-03").utf8).base64EncodedString()
            let document =
                #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/hl7-cda+xml","data":"\#(cda)"}}]}"#
            #expect(
                try await hub.send("POST", "/fhir/DocumentReference", headers: Self.json, body: Array(document.utf8), presenting: pki).status == 201)
            // A clinician with a bearer token, and a token that is not one.
            let token = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", bearer: token).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", bearer: token + "x").status == 401)
            return token
        }
        let log = capture.text
        // The capture saw the hub at work (else the rest proves nothing).
        #expect(log.split(separator: "\n").count > 50, "\(log.prefix(2000))")
        for (what, secret) in [
            ("resident ID", person.residentID), ("name", person.family + person.given), ("family name", person.family),
            ("given name", person.given), ("name as a URL spells it", String(name.prefix(9))), ("record number", mrn),
            ("birth date", person.birthDate),
            ("birth date in HL7/CDA form", person.birthDate.replacingOccurrences(of: "-", with: "")), ("token", token),
        ] {
            let lines = log.split(separator: "\n").filter { $0.contains(secret) }
            #expect(lines.isEmpty, "the \(what) is in the log: \(lines.prefix(3))")
        }
    }
}
