import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRHistoryTests {
    @Test func typeAndSystemHistoryWithSinceAndPaging() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let json = FHIRResourceRoutesTests.json
            // After the directory's own Organizations (DirectoryMirror).
            try await Task.sleep(for: .milliseconds(20))
            let start = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            var ids: [String] = []
            for index in 0..<3 {
                let body = Array(#"{"resourceType":"Organization","name":"医院\#(index)"}"#.utf8)
                ids.append(
                    try #require(
                        try jsonObject(try await hub.send("POST", "/fhir/Organization", headers: json, body: body, presenting: pki))["id"] as? String)
                )
            }
            try await Task.sleep(for: .milliseconds(20))
            let since = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            _ = try await hub.send("DELETE", "/fhir/Organization/\(ids[0])", presenting: pki)
            var patients = SyntheticPatients(seed: 5)
            _ = try await hub.send("POST", "/fhir/Patient", headers: json, body: Array(patients.patientJSON().utf8), presenting: pki)

            // Type history pages through all four Organization versions, newest first.
            var methods: [String] = []
            var path: String? = "/fhir/Organization/_history?_count=3&_since=\(start)"
            while let current = path {
                let page = try jsonObject(try await hub.send("GET", current, presenting: pki))
                #expect(page["type"] as? String == "history")
                methods += ((page["entry"] as? [[String: Any]]) ?? []).compactMap { ($0["request"] as? [String: Any])?["method"] as? String }
                let next = (page["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
                path = next.map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
            }
            #expect(methods == ["DELETE", "POST", "POST", "POST"])

            // System history since the deletion: the deletion and the Patient.
            let recent = try jsonObject(
                try await hub.send("GET", "/fhir/_history?_since=\(since.replacingOccurrences(of: "+", with: "%2B"))", presenting: pki))
            let types = ((recent["entry"] as? [[String: Any]]) ?? []).compactMap {
                ($0["fullUrl"] as? String)?.components(separatedBy: "/fhir/").last?.components(separatedBy: "/").first
            }
            #expect(types == ["Patient", "Organization"])
            #expect(try await hub.send("GET", "/fhir/_history?_since=yesterday", presenting: pki).status == 400)
        }
    }

    /// `_at`: the versions that were current at some moment of the period, at its precision;
    /// an instance's history takes `_since` and `_at` too.
    @Test func historyAtAMomentAndSinceOnAnInstance() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let json = FHIRResourceRoutesTests.json
            func now() async throws -> String {
                try await Task.sleep(for: .milliseconds(30))
                let moment = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
                try await Task.sleep(for: .milliseconds(30))
                return moment
            }
            let created = try await hub.send(
                "POST", "/fhir/Organization", headers: json, body: Array(#"{"resourceType":"Organization","name":"社区卫生服务中心"}"#.utf8), presenting: pki)
            let id = try #require(try jsonObject(created)["id"] as? String)
            var moments: [String] = []
            for name in ["社区卫生服务中心（东）", "社区卫生服务中心（西）"] {
                moments.append(try await now())
                let body = Array(#"{"resourceType":"Organization","id":"\#(id)","name":"\#(name)"}"#.utf8)
                #expect(try await hub.send("PUT", "/fhir/Organization/\(id)", headers: json, body: body, presenting: pki).status == 200)
            }
            func versions(_ path: String) async throws -> [String] {
                let bundle = try jsonObject(try await hub.send("GET", path, presenting: pki))
                return ((bundle["entry"] as? [[String: Any]]) ?? []).compactMap { entry in
                    guard (entry["fullUrl"] as? String)?.hasSuffix("/Organization/\(id)") == true else { return nil }
                    return ((entry["resource"] as? [String: Any])?["meta"] as? [String: Any])?["versionId"] as? String
                }
            }
            #expect(try await versions("/fhir/Organization/\(id)/_history?_at=\(moments[0])") == ["1"])
            #expect(try await versions("/fhir/Organization/\(id)/_history?_at=\(moments[1])") == ["2"])
            #expect(try await versions("/fhir/Organization/_history?_at=\(moments[1])") == ["2"])
            #expect(try await versions("/fhir/_history?_at=\(moments[0])") == ["1"])
            let year = String(moments[0].prefix(4))
            #expect(try await versions("/fhir/Organization/\(id)/_history?_at=\(year)") == ["3", "2", "1"])
            #expect(try await versions("/fhir/Organization/\(id)/_history?_since=\(moments[1])") == ["3"])
            #expect(try await versions("/fhir/Organization/\(id)/_history?_at=1999") == [])
            #expect(try await hub.send("GET", "/fhir/Organization/\(id)/_history?_at=1999", presenting: pki).status == 200)
            #expect(try await hub.send("GET", "/fhir/Organization/\(id)/_history?_at=soon", presenting: pki).status == 400)
            #expect(try await hub.send("GET", "/fhir/Organization/no-such-org/_history?_at=1999", presenting: pki).status == 404)
        }
    }
}
