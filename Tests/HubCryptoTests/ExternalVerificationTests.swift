import Foundation
import HubTestSupport
import Testing

@testable import HubCrypto

/// What docs/crypto.md tells a regulator to run to check a hub signature with the openssl
/// command line, run here on real hub signatures.
@Suite struct ExternalVerificationTests {
    @Test(arguments: ["sm", "intl"])
    func theDocumentedOpenSSLCommandVerifiesHubSignatures(suiteName: String) async throws {
        let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
        let key = try suite.signature.generateSigningKey()
        let message = Array("signed tree head 42".utf8)
        let signed = try SignedObject.sign(message, with: key, keyID: try KeyID("sig-test"))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try key.verifyingKey.pemRepresentation.write(toFile: folder + "/key.pem", atomically: true, encoding: .utf8)
        // The object's header (5 + byte 4 bytes) prefixes the message; the rest is the DER signature.
        let bytes = signed.serialized
        let headerLength = 5 + Int(bytes[4])
        try Data(Array(bytes[..<headerLength]) + message).write(to: URL(fileURLWithPath: folder + "/signed-bytes"))
        try Data(bytes[headerLength...]).write(to: URL(fileURLWithPath: folder + "/sig.der"))

        var arguments = ["pkeyutl", "-verify", "-rawin", "-digest", suiteName == "sm" ? "sm3" : "sha256"]
        if suiteName == "sm" { arguments += ["-pkeyopt", "distid:1234567812345678"] }
        arguments += ["-pubin", "-inkey", folder + "/key.pem", "-in", folder + "/signed-bytes", "-sigfile", folder + "/sig.der"]
        let verified = try await TestProcess.runTool("openssl", arguments)
        #expect(verified.status == 0, "\(verified.standardError)")
        #expect(verified.standardOutput.contains("Signature Verified Successfully"))

        // And a changed message fails.
        try Data(Array(bytes[..<headerLength]) + message + [0]).write(to: URL(fileURLWithPath: folder + "/signed-bytes"))
        #expect(try await TestProcess.runTool("openssl", arguments).status != 0)
    }
}
