import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// `$validate`: a resource checked as a create checks it, with every problem reported, and
/// nothing stored.
@Suite struct ValidateOperationTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func issues(_ reply: HubClient.Reply) throws -> [[String: Any]] {
        let outcome = try jsonObject(reply)
        #expect(outcome["resourceType"] as? String == "OperationOutcome")
        return (outcome["issue"] as? [[String: Any]]) ?? []
    }

    @Test func validatesWithoutStoringAndReportsEveryProblem() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var patients = SyntheticPatients(seed: 303)
            let valid = patients.patientJSON()
            let accepted = try await hub.send("POST", "/fhir/Patient/$validate", headers: Self.json, body: Array(valid.utf8), presenting: pki)
            #expect(accepted.status == 200, "\(accepted.text)")
            #expect(try Self.issues(accepted).map { $0["severity"] as? String } == ["information"])

            // Two problems: a code outside its required value set, an element R4 does not have.
            var broken = try #require(try JSONSerialization.jsonObject(with: Data(valid.utf8)) as? [String: Any])
            broken["gender"] = "unknown-gender"
            broken["shoeSize"] = 42
            let refused = try await hub.send(
                "POST", "/fhir/Patient/$validate", headers: Self.json, body: Array(try JSONSerialization.data(withJSONObject: broken)),
                presenting: pki)
            #expect(refused.status == 200)
            let problems = try Self.issues(refused)
            #expect(problems.count >= 2 && problems.allSatisfy { $0["severity"] as? String == "error" }, "\(problems)")
            let expressions = problems.flatMap { ($0["expression"] as? [String]) ?? [] }
            #expect(expressions.contains { $0.contains("gender") } && expressions.contains { $0.contains("shoeSize") }, "\(expressions)")

            // As Parameters, with the base profile and mode create.
            let parameters: [String: Any] = [
                "resourceType": "Parameters",
                "parameter": [
                    ["name": "resource", "resource": broken], ["name": "mode", "valueCode": "create"],
                    ["name": "profile", "valueCanonical": "http://hl7.org/fhir/StructureDefinition/Patient"],
                ],
            ]
            let wrapped = try await hub.send(
                "POST", "/fhir/Patient/$validate", headers: Self.json, body: Array(try JSONSerialization.data(withJSONObject: parameters)),
                presenting: pki)
            #expect(wrapped.status == 200)
            #expect(try Self.issues(wrapped).count == problems.count)
            // What it does not do is refused, not ignored.
            for (name, value) in [("mode", ["valueCode": "delete"]), ("profile", ["valueCanonical": "http://example.org/StructureDefinition/x"])] {
                var other = parameters
                other["parameter"] = [["name": "resource", "resource": broken], ["name": name].merging(value) { $1 }]
                let reply = try await hub.send(
                    "POST", "/fhir/Patient/$validate", headers: Self.json, body: Array(try JSONSerialization.data(withJSONObject: other)),
                    presenting: pki)
                #expect(reply.status == 400, "\(name)")
            }
            // A resource of another type than the URL's is a problem of the resource.
            let observation = try await hub.send("POST", "/fhir/Observation/$validate", headers: Self.json, body: Array(valid.utf8), presenting: pki)
            #expect(try Self.issues(observation).first?["severity"] as? String == "error")
            // Nothing was stored.
            let count = try jsonObject(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 0)
        }
    }
}
