import Foundation
import HubClient
import HubConfig
import HubCrypto
import HubKeys
import HubTestSupport
import Testing

@Suite struct PublishedKeysRoutesTests {
    @Test(arguments: ["sm", "intl"])
    func publishesKeysThatVerifyWhatTheHubSigns(profile: String) async throws {
        try await withHub({ $0.crypto.profile = profile }) { hub in
            let reply = try await hub.send("GET", "/.well-known/hub-keys")
            #expect(reply.status == 200)
            let document = try jsonObject(reply)
            #expect(document["suite"] as? String == profile)
            let keys = document["keys"] as? [[String: Any]] ?? []
            #expect(keys.count == 1)
            let key = try #require(keys.first)
            #expect(key["status"] as? String == "current")
            #expect(key["alg"] as? String == (profile == "sm" ? "SM2-SM3" : "ES256"))
            if profile == "sm" {
                #expect(key["sm2DistinguishingId"] as? String == "1234567812345678")
                #expect(key["jwk"] == nil)
            } else {
                #expect((key["jwk"] as? [String: Any])?["crv"] as? String == "P-256")
            }

            // Something the hub signs (with the key store it serves from) verifies with the
            // published PEM alone, as a regulator's tool would check it.
            let suite = try CryptoProfile.load(named: profile, directory: hub.configuration.crypto.profilesDirectory).makeSuite()
            let store = try FileKeyStore(directory: hub.configuration.crypto.keyDirectory, registry: .standard())
            let message = Array("tree head 7".utf8)
            let signed = try await store.sign(message, suite: suite)
            #expect(signed.header.keyID.value == key["kid"] as? String)
            let verifier = try suite.signature.verifyingKey(pem: try #require(key["publicKeyPem"] as? String))
            #expect(signed.isValid(for: message, key: verifier))
            #expect(!signed.isValid(for: message + [1], key: verifier))
            let spki = try #require(key["publicKeySpki"] as? String)
            let der = try #require(Data(base64Encoded: spki))
            #expect(try suite.signature.verifyingKey(der: [UInt8](der)).derRepresentation == verifier.derRepresentation)
        }
    }
}
