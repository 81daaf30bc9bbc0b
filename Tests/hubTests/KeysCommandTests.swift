import Foundation
import HubConfig
import HubTestSupport
import Testing

@Suite struct KeysCommandTests {
    @Test func generateShowRotateDestroyAndEraseWithoutEverPrintingKeys() async throws {
        try await TestDatabase.withFresh { url in
            let environment = try HubCommandTests.environment(database: url)
            #expect(try await TestProcess.run("hub", ["migrate"], environment: environment).status == 0)

            let generated = try await TestProcess.run("hub", ["keys", "generate"], environment: environment)
            #expect(generated.status == 0, "\(generated.standardError)")
            #expect(generated.standardOutput.contains("created key-encryption key kek-sm-"))
            #expect(generated.standardOutput.contains("(SM2-SM3)"))
            let again = try await TestProcess.run("hub", ["keys", "generate"], environment: environment)
            #expect(again.standardOutput == "all keys of suite sm exist\n")

            let show = try await TestProcess.run("hub", ["keys", "show"], environment: environment)
            #expect(show.status == 0, "\(show.standardError)")
            #expect(show.standardOutput.contains("suite in force: sm"))
            #expect(show.standardOutput.contains("signing"))
            #expect(!show.standardOutput.contains("PRIVATE"))
            #expect(show.standardOutput.contains("data keys:\n  none"))

            let rotated = try await TestProcess.run("hub", ["keys", "rotate-kek"], environment: environment)
            #expect(rotated.status == 0, "\(rotated.standardError)")
            #expect(rotated.standardOutput.contains("data keys still under old KEKs: 0"))
            let afterRotation = try await TestProcess.run("hub", ["keys", "show"], environment: environment)
            let kekLines = afterRotation.standardOutput.split(separator: "\n").filter { $0.contains("key-encryption") }
            #expect(kekLines.count == 2)
            #expect(kekLines.filter { $0.contains(" retired ") }.count == 1)

            // A current key cannot be destroyed; a retired one (wrapping nothing) can.
            let currentID = String(kekLines.first { $0.contains(" current ") }?.split(separator: " ").first ?? "")
            let retiredID = String(kekLines.first { $0.contains(" retired ") }?.split(separator: " ").first ?? "")
            let refused = try await TestProcess.run("hub", ["keys", "destroy", currentID], environment: environment)
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("is current"))
            let destroyed = try await TestProcess.run("hub", ["keys", "destroy", retiredID], environment: environment)
            #expect(destroyed.standardOutput == "destroyed key \(retiredID)\n", "\(destroyed.standardError)")

            let unconfirmed = try await TestProcess.run("hub", ["keys", "erase", "--subject", "p1"], environment: environment)
            #expect(unconfirmed.status == 1)
            #expect(unconfirmed.standardError == "hub: crypto-erasure cannot be undone: add --yes to confirm\n")
            let erased = try await TestProcess.run("hub", ["keys", "erase", "--subject", "p1", "--yes"], environment: environment)
            #expect(erased.standardOutput == "erased 0 data key(s) and 0 search index row(s)\n", "\(erased.standardError)")
        }
    }

    @Test func anUnknownProfileIsAConfigurationError() async throws {
        var environment = try HubCommandTests.environment(database: try TestEnvironment.adminDatabaseURL())
        environment["HUB_CRYPTO_PROFILE"] = "rot13"
        let output = try await TestProcess.run("hub", ["config", "check"], environment: environment)
        #expect(output.status == 78)
        #expect(output.standardError.hasPrefix("hub: configuration error: crypto.profile: no profile file"))
    }
}
