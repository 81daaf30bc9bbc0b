import Foundation
import HubAccess
import HubAudit
import HubClient
import HubConfig
import HubCrypto
import HubTestSupport
import Testing

/// `POST /auth/token`: SMART Backend Services' client-credentials grant with signed JWT
/// assertions, ES256 and SM2SM3.
@Suite struct ClientCredentialsTests {
    static let form = [("Content-Type", "application/x-www-form-urlencoded")]

    static func tokenRequest(_ assertion: String, scope: String? = nil, grant: String = "client_credentials") -> [UInt8] {
        var body =
            "grant_type=\(grant)&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=\(assertion)"
        if let scope { body += "&scope=\(scope.replacingOccurrences(of: " ", with: "+").replacingOccurrences(of: "/", with: "%2F"))" }
        return Array(body.utf8)
    }

    @Test func clientsExchangeSignedAssertionsForScopedTokens() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let audience = "\(hub.url)/auth/token"
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let json = [("Content-Type", "application/json")]

            // An SM2-keyed laboratory system without a certificate.
            let smKey = try CryptoSuite.sm().signature.generateSigningKey()
            let lab =
                #"{"id":"lab-system","role":"system","organization":"other-hospital","name":"LIS","scopes":["system/Observation.*","system/Patient.read"],"publicKey":\#(Self.quoted(smKey.verifyingKey.pemRepresentation))}"#
            #expect(try await hub.send("POST", "/admin/principals", headers: json, body: Array(lab.utf8), bearer: admin).status == 201)
            let assertion = try ClientAssertion.make(issuer: "lab-system", audience: audience, key: smKey)
            let reply = try await hub.send(
                "POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(assertion, scope: "system/Patient.read"))
            #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
            let issued = try jsonObject(reply)
            let token = try #require(issued["access_token"] as? String)
            #expect(issued["token_type"] as? String == "Bearer")
            #expect(issued["scope"] as? String == "system/Patient.read")
            #expect((issued["expires_in"] as? Int ?? 0) > 0)
            #expect(reply.headers.first { $0.0.lowercased() == "cache-control" }?.1 == "no-store")
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)
            #expect(try await hub.send("GET", "/fhir/Observation", bearer: token).status == 403)
            // The same assertion twice is a replay.
            let replay = try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(assertion))
            #expect(replay.status == 401)
            #expect(try jsonObject(replay)["error"] as? String == "invalid_client")
            // A scope it does not hold, another audience, another key, another grant type.
            let wide = try ClientAssertion.make(issuer: "lab-system", audience: audience, key: smKey)
            #expect(
                try jsonObject(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(wide, scope: "system/*.*")))[
                    "error"] as? String == "invalid_scope")
            let elsewhere = try ClientAssertion.make(issuer: "lab-system", audience: "https://elsewhere/auth/token", key: smKey)
            #expect(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(elsewhere)).status == 401)
            // The audience is the hub's own address, never what the request's Host header claims.
            let spoofed = try ClientAssertion.make(issuer: "lab-system", audience: "https://evil.example/auth/token", key: smKey)
            let spoofing = try await hub.send(
                "POST", "/auth/token", headers: Self.form + [("Host", "evil.example")], body: Self.tokenRequest(spoofed))
            #expect(spoofing.status == 401, "\(spoofing.text)")
            let forged = try ClientAssertion.make(issuer: "lab-system", audience: audience, key: try CryptoSuite.sm().signature.generateSigningKey())
            let forgedReply = try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(forged))
            #expect(forgedReply.status == 401)
            // An unknown principal is answered exactly like a wrong signature: no principal oracle.
            let unknown = try ClientAssertion.make(issuer: "no-such-system", audience: audience, key: smKey)
            let unknownReply = try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(unknown))
            #expect(unknownReply.status == 401)
            #expect(unknownReply.text == forgedReply.text, "\(unknownReply.text) vs \(forgedReply.text)")
            let password = try ClientAssertion.make(issuer: "lab-system", audience: audience, key: smKey)
            #expect(
                try jsonObject(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(password, grant: "password")))[
                    "error"] as? String == "unsupported_grant_type")

            // A P-256-keyed system registered with a certificate: its tokens need the certificate too.
            let p256 = try CryptoSuite.international().signature.generateSigningKey()
            let change = #"{"publicKey":\#(Self.quoted(p256.verifyingKey.pemRepresentation))}"#
            #expect(
                try await hub.send(
                    "PATCH", "/admin/principals/\(TestHub.Identities.otherSystem)", headers: json, body: Array(change.utf8), bearer: admin
                ).status == 200)
            let es256 = try ClientAssertion.make(issuer: TestHub.Identities.otherSystem, audience: audience, key: p256)
            let bound = try jsonObject(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(es256)))
            let boundToken = try #require(bound["access_token"] as? String)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: boundToken).status == 401)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki.otherHospital, bearer: boundToken).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki, bearer: boundToken).status == 401)
        }
    }

    /// Issue #14: failed logins are limited per claimed principal — past the limit a failure is
    /// 429 — yet a good assertion still gets its token (anyone can send failures naming any
    /// principal: that must not lock it out); every refusal is audited.
    @Test func failedLoginsAreLimitedPerPrincipalAndAudited() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.access.failedLoginLimit = 3
        }) { hub in
            let audience = "\(hub.url)/auth/token"
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let json = [("Content-Type", "application/json")]
            var keys: [String: any SigningKey] = [:]
            for id in ["lab-one", "lab-two"] {
                let key = try CryptoSuite.sm().signature.generateSigningKey()
                keys[id] = key
                let body =
                    #"{"id":"\#(id)","role":"system","organization":"other-hospital","name":"LIS","scopes":["system/Patient.read"],"publicKey":\#(Self.quoted(key.verifyingKey.pemRepresentation))}"#
                #expect(try await hub.send("POST", "/admin/principals", headers: json, body: Array(body.utf8), bearer: admin).status == 201)
            }
            let wrongKey = try CryptoSuite.sm().signature.generateSigningKey()
            for _ in 0..<3 {
                let forged = try ClientAssertion.make(issuer: "lab-one", audience: audience, key: wrongKey)
                #expect(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(forged)).status == 401)
            }
            let forged = try ClientAssertion.make(issuer: "lab-one", audience: audience, key: wrongKey)
            let held = try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(forged))
            #expect(held.status == 429, "\(held.text)")
            let retry = Int(held.headers.first { $0.0.lowercased() == "retry-after" }?.1 ?? "") ?? 0
            #expect((1...900).contains(retry))
            #expect(try jsonObject(held)["error"] as? String == "invalid_request")
            let good = try ClientAssertion.make(issuer: "lab-one", audience: audience, key: try #require(keys["lab-one"]))
            let served = try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(good))
            #expect(served.status == 200, "locked out by someone else's failures: \(served.text)")
            // Unknown principals are limited alike (the answer tells them apart from nobody).
            for _ in 0..<3 {
                let unknown = try ClientAssertion.make(issuer: "no-such-lab", audience: audience, key: wrongKey)
                #expect(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(unknown)).status == 401)
            }
            let unknown = try ClientAssertion.make(issuer: "no-such-lab", audience: audience, key: wrongKey)
            #expect(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(unknown)).status == 429)
            // Another principal logs in as usual.
            let other = try ClientAssertion.make(issuer: "lab-two", audience: audience, key: try #require(keys["lab-two"]))
            #expect(try await hub.send("POST", "/auth/token", headers: Self.form, body: Self.tokenRequest(other)).status == 200)

            let records = try await AuditTrailTests.verifiedLog(hub, pki: pki)
            let logins = records.filter { $0.interaction == "login" }
            #expect(logins.filter { $0.status == 401 }.count == 6)
            #expect(logins.filter { $0.status == 429 }.count == 2)
        }
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}
