import Foundation
import HubConfig
import HubTestSupport
import Testing

@Suite struct AdminCommandTests {
    @Test func organizationsAndPrincipalsAreManagedFromTheConsoleAndAudited() async throws {
        try await TestDatabase.withFresh { url in
            let environment = try HubCommandTests.environment(database: url)
            #expect(try await TestProcess.run("hub", ["migrate"], environment: environment).status == 0)
            let pki = try TestEnvironment.pki()
            let addOrganization = ["admin", "add-organization", "county-hospital", "--name", "县人民医院", "--kind", "hospital"]
            #expect(try await TestProcess.run("hub", addOrganization, environment: environment).status == 0)
            let again = try await TestProcess.run("hub", addOrganization, environment: environment)
            #expect(again.status == 1)
            #expect(again.standardError.contains("exists"))
            #expect(try await TestProcess.run("hub", addOrganization + ["--if-missing"], environment: environment).status == 0)

            let system = [
                "admin", "add-principal", "county-his", "--role", "system", "--organization", "county-hospital", "--name", "HIS",
                "--scope", "system/*.read", "--certificate", pki.clientCertificate,
            ]
            let added = try await TestProcess.run("hub", system, environment: environment)
            #expect(added.status == 0, "\(added.standardError)")
            let wrongScope = try await TestProcess.run(
                "hub",
                [
                    "admin", "add-principal", "dr-zhao", "--role", "clinician", "--organization", "county-hospital", "--name", "赵医生", "--scope",
                    "system/*.*",
                ],
                environment: environment
            )
            #expect(wrongScope.status == 1)
            #expect(wrongScope.standardError.contains("user/"))
            let listed = try await TestProcess.run("hub", ["admin", "principals"], environment: environment)
            #expect(listed.standardOutput.contains("county-his\tsystem\tcounty-hospital\tactive\tsystem/*.read\tcert:"))
            #expect(
                try await TestProcess.run("hub", ["admin", "set-principal", "county-his", "--active", "false"], environment: environment).status == 0)
            #expect(
                try await TestProcess.run("hub", ["admin", "principals"], environment: environment).standardOutput.contains(
                    "county-his\tsystem\tcounty-hospital\tinactive"))
            let token = try await TestProcess.run("hub", ["admin", "issue-token", "county-his"], environment: environment)
            #expect(token.status == 1)
            #expect(
                try await TestProcess.run("hub", ["admin", "set-principal", "nobody", "--active", "false"], environment: environment).status == 3)

            // Every change is in the audit queue, as the console.
            let queued = try await TestDatabase.strings(url, "SELECT count(*)::text FROM audit_queue WHERE user_id = 'console'")
            #expect(queued == ["3"])
        }
    }

    @Test func turningOffReadAuditingNeedsTheBenchmarkSwitch() async throws {
        var environment = try HubCommandTests.environment(database: try TestEnvironment.adminDatabaseURL())
        environment["HUB_AUDIT_RECORD_READS"] = "false"
        let serve = try await TestProcess.run("hub", ["serve"], environment: environment)
        #expect(serve.status == 78)
        #expect(serve.standardError.contains("HUB_BENCHMARK_ONLY=1"))
    }
}
