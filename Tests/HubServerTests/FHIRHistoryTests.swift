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
}
