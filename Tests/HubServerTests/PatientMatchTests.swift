import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// `Patient/$match`: candidates graded by what agrees — the resident ID number, or name, birth
/// date and gender — among the patients the caller may see; a namesake with another ID number
/// is certainly not the patient.
@Suite struct PatientMatchTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func parameters(_ patient: String, _ extra: String = "") -> [UInt8] {
        Array(#"{"resourceType":"Parameters","parameter":[{"name":"resource","resource":\#(patient)}\#(extra)]}"#.utf8)
    }

    static func grades(_ reply: HubClient.Reply) throws -> [(id: String, grade: String, score: Double)] {
        let entries = (try jsonObject(reply)["entry"] as? [[String: Any]]) ?? []
        return entries.map { entry in
            let search = entry["search"] as? [String: Any]
            let grade = ((search?["extension"] as? [[String: Any]])?.first?["valueCode"] as? String) ?? ""
            let id = (entry["fullUrl"] as? String)?.components(separatedBy: "/").last ?? ""
            return (id, grade, (search?["score"] as? Double) ?? -1)
        }
    }

    @Test func candidatesAreGradedByWhatAgrees() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var people = SyntheticPatients(seed: 4242)
            let person = people.person(number: 10_000)
            // A namesake: same name, birth date and gender, another resident ID number.
            var namesake = person
            for number in 10_001..<10_050 {
                let candidate = people.person(number: number)
                if candidate.gender == person.gender && candidate.birthDate == person.birthDate {
                    namesake.residentID = candidate.residentID
                    break
                }
            }
            try #require(namesake.residentID != person.residentID)
            func create(_ json: String) async throws -> String {
                let reply = try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(json.utf8), presenting: pki)
                return try #require(try jsonObject(reply)["id"] as? String, "\(reply.text)")
            }
            let patient = try await create(people.patientJSON(person))
            let other = try await create(people.patientJSON(namesake))
            let query = people.patientJSON(person)
            // The ID number agrees: certain; the namesake certainly not.
            let byID = try Self.grades(
                try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(query), presenting: pki))
            #expect(byID.map(\.id) == [patient, other])
            #expect(byID.map(\.grade) == ["certain", "certainly-not"])
            #expect(byID.first?.score == 1)
            // The namesake is answered without its record: the caller learns only that it is not the patient.
            let entries = try #require(
                try jsonObject(try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(query), presenting: pki))[
                    "entry"] as? [[String: Any]])
            #expect(entries.count == 2 && entries[0]["resource"] != nil && entries[1]["resource"] == nil)
            // A resident ID with a lower-case check character is the same number.
            if person.residentID.hasSuffix("X") {
                let lower = query.replacingOccurrences(of: person.residentID, with: person.residentID.lowercased())
                let graded = try Self.grades(
                    try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(lower), presenting: pki))
                #expect(graded.first?.id == patient && graded.first?.grade == "certain")
            }
            // Spaces and hyphens, as people write ID numbers, are the same number too.
            let spaced =
                String(person.residentID.prefix(6)) + "-" + String(person.residentID.dropFirst(6).prefix(8)) + " "
                + String(person.residentID.suffix(4))
            let hyphenated = try Self.grades(
                try await hub.send(
                    "POST", "/fhir/Patient/$match", headers: Self.json,
                    body: Self.parameters(query.replacingOccurrences(of: person.residentID, with: spaced)), presenting: pki))
            #expect(hyphenated.first?.id == patient && hyphenated.first?.grade == "certain", "\(hyphenated)")
            // A year of birth alone is not enough to match on.
            let yearOnly =
                #"{"resourceType":"Patient","name":[{"family":"\#(person.family)","given":["\#(person.given)"]}],"birthDate":"\#(person.birthDate.prefix(4))"}"#
            #expect(
                try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(yearOnly), presenting: pki).status == 400
            )
            // No identifier: name, birth date and gender make both probable; without gender, possible.
            let demographic =
                #"{"resourceType":"Patient","name":[{"family":"\#(person.family)","given":["\#(person.given)"]}],"birthDate":"\#(person.birthDate)","gender":"\#(person.gender)"}"#
            let probable = try Self.grades(
                try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(demographic), presenting: pki))
            #expect(Set(probable.map(\.id)) == [patient, other] && probable.allSatisfy { $0.grade == "probable" && $0.score == 0.8 })
            let withoutGender = demographic.replacingOccurrences(of: #","gender":"\#(person.gender)""#, with: "")
            let possible = try Self.grades(
                try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(withoutGender), presenting: pki))
            #expect(possible.count == 2 && possible.allSatisfy { $0.grade == "possible" })
            // onlyCertainMatches and count.
            let certain = try Self.grades(
                try await hub.send(
                    "POST", "/fhir/Patient/$match", headers: Self.json,
                    body: Self.parameters(query, #",{"name":"onlyCertainMatches","valueBoolean":true}"#), presenting: pki))
            #expect(certain.map(\.id) == [patient])
            let one = try Self.grades(
                try await hub.send(
                    "POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(demographic, #",{"name":"count","valueInteger":1}"#),
                    presenting: pki))
            #expect(one.count == 1)
            // Another hospital, which may not see these patients, finds nothing.
            let foreign = try await hub.send(
                "POST", "/fhir/Patient/$match", headers: Self.json, body: Self.parameters(query), presenting: pki.otherHospital)
            #expect(foreign.status == 200)
            #expect(try Self.grades(foreign).isEmpty)
            // What cannot be matched is refused.
            for body in [
                #"{"resourceType":"Parameters","parameter":[]}"#, #"{"resourceType":"Patient"}"#,
                String(decoding: Self.parameters(#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#), as: UTF8.self),
                String(decoding: Self.parameters(#"{"resourceType":"Patient","gender":"male"}"#), as: UTF8.self),
                String(decoding: Self.parameters(query, #",{"name":"count","valueInteger":0}"#), as: UTF8.self),
            ] {
                let refused = try await hub.send("POST", "/fhir/Patient/$match", headers: Self.json, body: Array(body.utf8), presenting: pki)
                #expect(refused.status == 400, "\(body): \(refused.status) \(refused.text)")
            }
        }
    }
}
