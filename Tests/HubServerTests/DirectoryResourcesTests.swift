import Foundation
import HubAccess
import HubAudit
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// The references the hub writes itself (an HL7 result's performer, a referral's requester)
/// resolve: every organization of the directory is an Organization, every clinician a
/// Practitioner and a PractitionerRole, kept in step with the directory and owned by the hub.
@Suite struct DirectoryResourcesTests {
    static let json = [("Content-Type", "application/json")]

    @Test func theDirectoryIsReadableAsFHIRResourcesAndFollowsItsChanges() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            // What LabResultIntake writes as a result's performer resolves from the start.
            let hospital = try await hub.send("GET", "/fhir/Organization/\(TestHub.Identities.hospital)", presenting: pki.otherHospital)
            #expect(hospital.status == 200, "\(hospital.text)")
            let organization = try jsonObject(hospital)
            #expect(organization["name"] as? String == "第一人民医院")
            #expect(organization["active"] as? Bool == true)
            let found = try jsonObject(
                try await hub.send(
                    "GET", "/fhir/Organization?identifier=urn:health-hub:organization|\(TestHub.Identities.commission)", presenting: pki))
            #expect((found["entry"] as? [[String: Any]])?.count == 1)
            // A clinician is a Practitioner, and a PractitionerRole at their organization.
            let practitioner = try jsonObject(
                try await hub.send("GET", "/fhir/Practitioner/\(TestHub.Identities.clinician)", presenting: pki.otherHospital))
            #expect(practitioner["resourceType"] as? String == "Practitioner")
            let role = try jsonObject(try await hub.send("GET", "/fhir/PractitionerRole/\(TestHub.Identities.clinician)", presenting: pki))
            #expect((role["organization"] as? [String: Any])?["reference"] as? String == "Organization/\(TestHub.Identities.hospital)")
            // Systems, regulators and administrators are no practitioners.
            #expect(try await hub.send("GET", "/fhir/Practitioner/\(TestHub.Identities.regulator)", presenting: pki).status == 404)
            #expect(try await hub.send("GET", "/fhir/Practitioner/\(TestHub.Identities.system)", presenting: pki).status == 404)
            // Valid R4, as an independent implementation reads it.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var files: [String] = []
            for (name, resource) in [("organization", organization), ("practitioner", practitioner), ("role", role)] {
                let file = "\(folder)/\(name).json"
                try JSONSerialization.data(withJSONObject: resource).write(to: URL(fileURLWithPath: file))
                files.append(file)
            }
            let checked = try await TestPeer.run("fhir_validate.py", files)
            #expect(checked.status == 0, "\(checked.standardOutput)\(checked.standardError)")

            // The hub owns them: a hospital cannot change or remove its own, nor another's.
            var renamed = organization
            renamed["name"] = "改名医院"
            renamed["meta"] = nil
            renamed["identifier"] = nil  // the directory's identifier system is reserved (422 before 403)
            let put = try await hub.send(
                "PUT", "/fhir/Organization/\(TestHub.Identities.hospital)", headers: [("Content-Type", "application/fhir+json")],
                body: Array(try JSONSerialization.data(withJSONObject: renamed)), presenting: pki)
            #expect(put.status == 403, "\(put.text)")
            #expect(try await hub.send("DELETE", "/fhir/Organization/\(TestHub.Identities.otherHospital)", presenting: pki).status == 403)
            // Nor can it pass another resource off as one of the directory's.
            let forged =
                #"{"resourceType":"Organization","identifier":[{"system":"urn:health-hub:organization","value":"test-hospital"}],"name":"冒名"}"#
            let forgery = try await hub.send(
                "POST", "/fhir/Organization", headers: [("Content-Type", "application/fhir+json")], body: Array(forged.utf8), presenting: pki)
            #expect(forgery.status == 422, "\(forgery.text)")

            // A change of the directory is in the FHIR resource at once.
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let body = #"{"id":"west-district-clinic","name":"西区社区卫生服务中心","kind":"hospital"}"#
            #expect(try await hub.send("POST", "/admin/organizations", headers: Self.json, body: Array(body.utf8), bearer: admin).status == 201)
            let added = try jsonObject(try await hub.send("GET", "/fhir/Organization/west-district-clinic", presenting: pki))
            #expect(added["name"] as? String == "西区社区卫生服务中心")
            let closing = try await hub.send(
                "PATCH", "/admin/organizations/west-district-clinic", headers: Self.json, body: Array(#"{"active":false}"#.utf8), bearer: admin)
            #expect(closing.status == 204)
            let closed = try jsonObject(try await hub.send("GET", "/fhir/Organization/west-district-clinic", presenting: pki))
            #expect(closed["active"] as? Bool == false)
            #expect((closed["meta"] as? [String: Any])?["versionId"] as? String == "2")

            // A change made behind the hub's back (`hub admin`, another hub), and passes asked for
            // at once from several places: they run one after another, and the last word is the
            // directory's.
            let audit = AuditContext(caller: Caller(user: "test"), interaction: "admin")
            try await hub.directory.setActive(organization: "west-district-clinic", true, audit: audit)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        if index == 3 { try await hub.directory.setActive(organization: "west-district-clinic", false, audit: audit) }
                        try await hub.directoryMirror.reconcile()
                    }
                }
                try await group.waitForAll()
            }
            try await hub.directoryMirror.reconcile()
            let settled = try jsonObject(try await hub.send("GET", "/fhir/Organization/west-district-clinic", presenting: pki))
            #expect(settled["active"] as? Bool == false)
            #expect(try await hub.directoryMirror.reconcile() == 0, "nothing left to write")
        }
    }
}
