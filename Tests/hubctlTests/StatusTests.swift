import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct StatusTests {
    @Test func reportsAHealthyReadyHubOverVerifiedTLS() async throws {
        try await TestDatabase.withFresh { url in
            try await TestHub.withRunning(try TestHub.configuration(database: url)) { hub in
                let output = try await TestProcess.run("hubctl", ["status", "--server", hub.url, "--ca", hub.pki.caCertificate])
                #expect(output.status == 0, "\(output.standardError)")
                #expect(output.standardOutput == "\(hub.url): healthy, ready\n")

                let json = try await TestProcess.run(
                    "hubctl",
                    ["status", "--json"],
                    environment: ["HUBCTL_SERVER": hub.url, "HUBCTL_CA": hub.pki.caCertificate]
                )
                #expect(json.status == 0)
                let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
                #expect(object?["healthy"] as? Bool == true)
                #expect(object?["ready"] as? Bool == true)
                #expect((object?["checks"] as? [Any])?.count == 2)
            }
        }
    }

    @Test func refusesAServerItCannotVerify() async throws {
        try await TestDatabase.withFresh { url in
            try await TestHub.withRunning(try TestHub.configuration(database: url)) { hub in
                let foreign = try TestEnvironment.foreignPKI()
                let output = try await TestProcess.run("hubctl", ["status", "--server", hub.url, "--ca", foreign.caCertificate])
                #expect(output.status == 1)
                #expect(output.standardError.hasPrefix("hubctl: \(hub.url): TLS failed"))
                #expect(output.standardError.split(separator: "\n").count == 1)
            }
        }
    }

    @Test func reportsAHubThatIsNotReady() async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.database.migrateOnStart = false
            try await TestHub.withRunning(configuration) { hub in
                let output = try await TestProcess.run("hubctl", ["status", "--server", hub.url, "--ca", hub.pki.caCertificate])
                #expect(output.status == 1)
                #expect(output.standardOutput.hasPrefix("\(hub.url): healthy, not ready\n  migrations: "), "\(output.standardError)")
                #expect(output.standardOutput.contains(" pending migration(s), from 0001_instance; run `hub migrate`"))
            }
        }
    }

    @Test func aMissingCAFileIsNamed() async throws {
        let output = try await TestProcess.run("hubctl", ["status", "--ca", "/nonexistent/ca.crt"])
        #expect(output.status == 1)
        #expect(output.standardError == "hubctl: cannot use CA certificate file /nonexistent/ca.crt\n")
    }

    @Test func helpAndVersion() async throws {
        let help = try await TestProcess.run("hubctl", ["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("status"))
        let version = try await TestProcess.run("hubctl", ["version"])
        #expect(version.standardOutput == "hubctl \(HubVersion.current) (FHIR 4.0.1)\n")
    }
}
