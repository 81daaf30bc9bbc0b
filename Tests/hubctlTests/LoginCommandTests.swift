import Foundation
import HubAccess
import HubAudit
import HubConfig
import HubCrypto
import HubTestSupport
import Testing

@Suite struct LoginCommandTests {
    @Test(arguments: ["intl", "sm"])
    func aRegulatorLogsInWithItsKeyUsesTheTokenAndLogsOut(suiteName: String) async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("login-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
                let key = try suite.signature.generateSigningKey()
                let keyFile = "\(directory)/regulator.key"
                _ = FileManager.default.createFile(
                    atPath: keyFile, contents: Data(try key.pemRepresentation().utf8), attributes: [.posixPermissions: 0o600])
                _ = try await hub.directory.update(
                    principal: TestHub.Identities.regulator,
                    .init(publicKey: key.verifyingKey.pemRepresentation),
                    audit: AuditContext(caller: Caller(user: "test"), interaction: "admin")
                )
                let configFolder = "\(directory)/hubctl"
                let profileFile = "\(configFolder)/profiles/default.json"
                // The regulator is registered with a certificate too: its tokens are bound to it.
                let regulator = hub.pki.regulator
                let server = [
                    "--server", hub.url, "--ca", hub.pki.caCertificate, "--config-dir", configFolder,
                    "--cert", regulator.clientCertificate, "--key", regulator.clientKey,
                ]

                let login = try await TestProcess.run(
                    "hubctl", ["login", "--principal", TestHub.Identities.regulator, "--signing-key", keyFile] + server)
                #expect(login.status == 0, "\(login.standardError)")
                #expect(login.standardOutput.hasPrefix("logged in as test-regulator"))
                let permissions = try FileManager.default.attributesOfItem(atPath: profileFile)[.posixPermissions] as? NSNumber
                #expect(permissions?.intValue == 0o600)
                // The profile remembers the server, the CA and the certificate: later commands need none of them.
                let checkpoint = try await TestProcess.run("hubctl", ["audit", "checkpoint", "--sign", "--config-dir", configFolder])
                #expect(checkpoint.status == 0, "\(checkpoint.standardError)")
                let whoami = try await TestProcess.run("hubctl", ["whoami", "--json", "--config-dir", configFolder])
                let me = try JSONSerialization.jsonObject(with: Data(whoami.standardOutput.utf8)) as? [String: Any]
                #expect((me?["principal"] as? [String: Any])?["id"] as? String == TestHub.Identities.regulator, "\(whoami.standardOutput)")

                // A profile others may read is refused.
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: profileFile)
                #expect(try await TestProcess.run("hubctl", ["audit", "checkpoint"] + server).status == 1)
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: profileFile)

                let logout = try await TestProcess.run("hubctl", ["logout"] + server)
                #expect(logout.status == 0)
                #expect(!(try String(contentsOfFile: profileFile, encoding: .utf8)).contains("\"token\""))
                // Without the token and without the certificate the profile also keeps: denied.
                #expect(
                    try await TestProcess.run(
                        "hubctl", ["audit", "checkpoint", "--server", hub.url, "--ca", hub.pki.caCertificate, "--config-dir", "\(directory)/empty"]
                    ).status == 4)

                // Another key than the registered one is refused.
                let wrong = "\(directory)/wrong.key"
                _ = FileManager.default.createFile(atPath: wrong, contents: Data(try suite.signature.generateSigningKey().pemRepresentation().utf8))
                let refused = try await TestProcess.run(
                    "hubctl", ["login", "--principal", TestHub.Identities.regulator, "--signing-key", wrong] + server)
                #expect(refused.status == 4)
                #expect(refused.standardError.contains("login refused"))
            }
        }
    }
}
