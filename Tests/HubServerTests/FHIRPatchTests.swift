import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRPatchTests {
    @Test func patchesWithJSONPatchUnderTheVersionRules() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let created = try await hub.send(
                "POST", "/fhir/Organization", headers: FHIRResourceRoutesTests.json,
                body: Array(#"{"resourceType":"Organization","name":"市中心医院","active":true}"#.utf8), presenting: pki
            )
            let id = try #require(try jsonObject(created)["id"] as? String)
            let patchType = [("Content-Type", "application/json-patch+json")]
            let patched = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType + [("If-Match", "W/\"1\"")],
                body: Array(#"[{"op":"replace","path":"/active","value":false},{"op":"add","path":"/alias","value":["中心医院"]}]"#.utf8),
                presenting: pki
            )
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.header("etag") == "W/\"2\"")
            let body = try jsonObject(patched)
            #expect(body["active"] as? Bool == false)
            #expect((body["alias"] as? [String]) == ["中心医院"])

            let stale = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType + [("If-Match", "W/\"1\"")],
                body: Array(#"[{"op":"remove","path":"/alias"}]"#.utf8), presenting: pki
            )
            #expect(stale.status == 412)
            let failing = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"test","path":"/name","value":"别的医院"}]"#.utf8), presenting: pki
            )
            #expect(failing.status == 422)
            // A patch that would break the resource's rules (an empty string) is refused too.
            let invalid = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"replace","path":"/name","value":""}]"#.utf8), presenting: pki
            )
            #expect(invalid.status == 400)
            let changingID = try await hub.send(
                "PATCH", "/fhir/Organization/\(id)", headers: patchType,
                body: Array(#"[{"op":"replace","path":"/id","value":"other"}]"#.utf8), presenting: pki
            )
            #expect(changingID.status == 400)
            #expect(try await hub.send("GET", "/fhir/Organization/\(id)", presenting: pki).header("etag") == "W/\"2\"")
        }
    }
}
