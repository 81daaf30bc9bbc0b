import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// `$meta`, `$meta-add`, `$meta-delete`: labels changed as new versions, under the same rules as
/// an update, found by `_tag`/`_security` afterwards.
@Suite struct MetaOperationsTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func parameters(_ meta: String) -> [UInt8] {
        Array(#"{"resourceType":"Parameters","parameter":[{"name":"meta","valueMeta":\#(meta)}]}"#.utf8)
    }

    static func returned(_ reply: HubClient.Reply) throws -> [String: Any] {
        let parameters = try jsonObject(reply)
        #expect(parameters["resourceType"] as? String == "Parameters")
        return (((parameters["parameter"] as? [[String: Any]])?.first?["valueMeta"]) as? [String: Any]) ?? [:]
    }

    @Test func labelsAreAddedAndRemovedAsNewVersions() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let patient = try await createPatient(hub, seed: 717, presenting: pki)
            let confidential =
                #"{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"tag":[{"system":"urn:health-hub:tag","code":"screening"}]}"#
            let added = try await hub.send(
                "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json, body: Self.parameters(confidential), presenting: pki)
            #expect(added.status == 200, "\(added.text)")
            let meta = try Self.returned(added)
            #expect(meta["versionId"] as? String == "2")
            #expect((meta["security"] as? [[String: Any]])?.first?["code"] as? String == "R")
            // Adding what is there changes nothing: no new version.
            let again = try await hub.send(
                "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json, body: Self.parameters(confidential), presenting: pki)
            #expect(try Self.returned(again)["versionId"] as? String == "2")
            // Found by the labels; $meta reads them.
            let found = try jsonObject(try await hub.send("GET", "/fhir/Patient?_security=R&_tag=screening", presenting: pki))
            #expect((found["entry"] as? [[String: Any]])?.count == 1)
            #expect(((try Self.returned(try await hub.send("GET", "/fhir/Patient/\(patient)/$meta", presenting: pki)))["tag"] as? [Any])?.count == 1)
            // Removed: a third version, the tag gone and the security label kept.
            let removed = try await hub.send(
                "POST", "/fhir/Patient/\(patient)/$meta-delete", headers: Self.json,
                body: Self.parameters(#"{"tag":[{"system":"urn:health-hub:tag","code":"screening"}]}"#), presenting: pki)
            let after = try Self.returned(removed)
            #expect(after["versionId"] as? String == "3" && after["tag"] == nil && after["security"] != nil)
            // If-Match names the version to change: a stale one is 412, the current one applies.
            let staleVersion = try await hub.send(
                "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json + [("If-Match", "W/\"2\"")],
                body: Self.parameters(#"{"tag":[{"system":"urn:health-hub:tag","code":"followup"}]}"#), presenting: pki)
            #expect(staleVersion.status == 412)
            let currentVersion = try await hub.send(
                "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json + [("If-Match", "W/\"3\"")],
                body: Self.parameters(#"{"tag":[{"system":"urn:health-hub:tag","code":"followup"}]}"#), presenting: pki)
            #expect(try Self.returned(currentVersion)["versionId"] as? String == "4")
            // The same rules as an update: another hospital finds nothing to label.
            #expect(
                try await hub.send(
                    "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json, body: Self.parameters(confidential),
                    presenting: pki.otherHospital
                ).status == 404)
            // Only tag, security and profile; only as Parameters.
            #expect(
                try await hub.send(
                    "POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json, body: Self.parameters(#"{"versionId":"9"}"#), presenting: pki
                ).status == 400)
            #expect(
                try await hub.send("POST", "/fhir/Patient/\(patient)/$meta-add", headers: Self.json, body: Array(confidential.utf8), presenting: pki)
                    .status == 400)
        }
    }
}
