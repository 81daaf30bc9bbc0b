import Foundation
import HubAccess
import HubCrypto
import Testing

@Suite struct ClientAssertionTests {
    static let audience = "https://hub.example.org/auth/token"

    @Test(arguments: ["intl", "sm"])
    func aSignedAssertionVerifiesAndNothingElseDoes(suiteName: String) throws {
        let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
        let key = try suite.signature.generateSigningKey()
        let other = try suite.signature.generateSigningKey()
        let now = Date()
        let jwt = try ClientAssertion.make(issuer: "his-1", audience: Self.audience, key: key, now: now)
        let assertion = try ClientAssertion(compact: jwt)
        #expect(assertion.algorithm == (suiteName == "sm" ? "SM2SM3" : "ES256"))
        #expect(assertion.issuer == "his-1")
        try assertion.verify(key: key.verifyingKey, audience: Self.audience, now: now)
        #expect(throws: AccessError.self) { try assertion.verify(key: other.verifyingKey, audience: Self.audience, now: now) }
        #expect(throws: AccessError.self) { try assertion.verify(key: key.verifyingKey, audience: "https://elsewhere/auth/token", now: now) }
        #expect(throws: AccessError.self) { try assertion.verify(key: key.verifyingKey, audience: Self.audience, now: now.addingTimeInterval(600)) }
        // Any changed character of header, claims or signature is refused.
        let characters = Array(jwt)
        for index in stride(from: 0, to: characters.count, by: 7) where characters[index] != "." {
            var tampered = characters
            tampered[index] = tampered[index] == "A" ? "B" : "A"
            let text = String(tampered)
            if let parsed = try? ClientAssertion(compact: text) {
                #expect(throws: AccessError.self) { try parsed.verify(key: key.verifyingKey, audience: Self.audience, now: now) }
            }
        }
    }

    @Test func longLivedAndMalformedAssertionsAreRefused() throws {
        let key = try CryptoSuite.international().signature.generateSigningKey()
        let now = Date()
        let long = try ClientAssertion(
            compact: try ClientAssertion.make(issuer: "his-1", audience: Self.audience, key: key, lifetime: 3600, now: now))
        #expect(throws: AccessError.self) { try long.verify(key: key.verifyingKey, audience: Self.audience, now: now) }
        for text in ["", "a.b", "a.b.c", "e30.e30.", String(repeating: "x", count: 9000)] {
            #expect(throws: AccessError.self) { try ClientAssertion(compact: text) }
        }
    }
}
