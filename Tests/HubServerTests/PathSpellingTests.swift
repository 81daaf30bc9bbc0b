import Foundation
import HubAudit
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Item 7 of issue #14: another spelling of a path must not reach a handler past authentication
/// or audit, and every protected API leaves its record (notifications included).
@Suite struct PathSpellingTests {
    @Test func otherSpellingsAreRefusedAndEveryProtectedAPIIsAudited() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let token = try await hub.token(for: TestHub.Identities.clinician)
            for path in [
                "//fhir/Patient", "/fhir//Patient", "/fhir/./Patient", "/fhir/Patient/../Patient", "//auth/token", "//notifications", "/./audit/log",
            ] {
                let reply = try await hub.send("GET", path, bearer: token)
                #expect(reply.status == 400, "\(path): \(reply.status)")
                #expect((try? jsonObject(reply))?["resourceType"] as? String == "OperationOutcome", "\(path)")
            }
            // The canonical spellings work, and a failed login over the canonical path is audited.
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)
            #expect(try await hub.send("GET", "/notifications", presenting: pki).status == 200)
            #expect(try await hub.send("GET", "/notifications", presenting: pki.otherHospital, bearer: "forged").status == 401)
            let log = try await AuditTrailTests.verifiedLog(hub, pki: pki)
            let notificationRecords = log.filter { $0.resourceType == nil && [200, 401].contains($0.status) && $0.interaction != "audit-checkpoint" }
            #expect(log.contains { $0.status == 401 }, "the refused call to /notifications is not in the log")
            #expect(!notificationRecords.isEmpty)
        }
    }
}
