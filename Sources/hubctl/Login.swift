import ArgumentParser
import Foundation
import HubClient
import HubCredentials
import HubCrypto

/// `hubctl login`: signs a client assertion with the principal's key (P-256 or SM2), exchanges it
/// at `POST /auth/token`, and keeps the token for the next commands.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in: exchange a signed assertion (your registered key) for a bearer token, kept in the token file."
    )
    @OptionGroup var server: ServerOptions
    @Option(help: "Your id at the hub (a user or a client).") var principal: String
    @Option(name: .customLong("signing-key"), help: "PEM private key registered for you (P-256 or SM2).") var signingKey: String
    @Option(name: .customLong("scope"), help: "Only these of your scopes (repeat).") var scopes: [String] = []

    func run() async throws {
        let pem: String
        do {
            pem = try String(contentsOfFile: self.signingKey, encoding: .utf8)
        } catch {
            throw CLIFailure(message: "cannot read \(self.signingKey)").exit()
        }
        let key: any SigningKey
        if let p256 = try? CryptoSuite.international().signature.signingKey(pem: pem) {
            key = p256
        } else if let sm2 = try? CryptoSuite.sm().signature.signingKey(pem: pem) {
            key = sm2
        } else {
            throw CLIFailure(message: "\(self.signingKey) is not a PEM P-256 or SM2 private key").exit()
        }
        let assertion: String
        do {
            assertion = try ClientAssertion.make(issuer: self.principal, audience: self.server.serverURL + "/auth/token", key: key)
        } catch {
            throw CLIFailure(message: "cannot sign the assertion: \(error)").exit()
        }
        var form = "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        form += "&client_assertion=\(assertion)"
        if !self.scopes.isEmpty {
            let scope = self.scopes.joined(separator: " ").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            form += "&scope=\(scope)"
        }
        let reply = try await Self.post(self.server, "/auth/token", form: form)
        let answer = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        guard reply.status == 200, let token = answer?["access_token"] as? String else {
            let reason = answer?["error_description"] as? String ?? "the hub answered \(reply.status)"
            throw CLIFailure(message: "login refused: \(reason)", exitCode: 4).exit()
        }
        var profile = try self.server.resolved()
        profile.principal = self.principal
        profile.token = token
        profile.expiresAt = Date().addingTimeInterval(Double(answer?["expires_in"] as? Int ?? 0))
        do {
            try profile.save(self.server.profileName, in: self.server.configFolder)
        } catch let failure as CLIFailure {
            throw failure.exit()
        }
        print(
            "logged in as \(self.principal) until \(Date().addingTimeInterval(Double(answer?["expires_in"] as? Int ?? 0)).formatted(.iso8601)); scopes: \(answer?["scope"] as? String ?? "")"
        )
    }

    /// Keeps `token` in the profile in use, in place of the one there.
    static func keep(_ token: String, in server: ServerOptions, until expiry: Date?) throws {
        do {
            var profile = try server.savedProfile()
            profile.token = token
            profile.expiresAt = expiry
            try profile.save(server.profileName, in: server.configFolder)
        } catch let failure as CLIFailure {
            throw failure.exit()
        }
    }

    static func post(_ server: ServerOptions, _ path: String, form: String? = nil, json: String? = nil, sendingToken: Bool = false) async throws
        -> HubClient.Reply
    {
        let client: HubClient
        do {
            client = try server.makeClient(sendingToken: sendingToken)
        } catch let failure as CLIFailure {
            throw failure.exit()
        }
        do {
            let contentType = form != nil ? "application/x-www-form-urlencoded" : "application/json"
            let reply = try await client.send("POST", path, headers: [("Content-Type", contentType)], body: Array((form ?? json ?? "").utf8))
            try? await client.shutdown()
            return reply
        } catch {
            try? await client.shutdown()
            throw CLIFailure(message: "\(client.configuration.serverURL): \(error.description)").exit()
        }
    }
}

/// `hubctl logout`: the token ends at the hub and leaves the token file.
struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log out: revoke the kept token and delete it.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let reply = try await Login.post(self.server, "/auth/revoke", sendingToken: true)
        var profile = try self.server.savedProfile()
        profile.token = nil
        profile.expiresAt = nil
        try profile.save(self.server.profileName, in: self.server.configFolder)
        print(reply.status == 204 ? "logged out" : "the token was no longer valid; removed it")
    }
}

/// `hubctl break-glass`: a clinician's emergency access to one patient, with a reason; the
/// short-lived token replaces the kept one and every use is flagged in the audit trail.
struct BreakGlass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "break-glass",
        abstract: "Declare an emergency for one patient (clinicians; audited and flagged)."
    )
    @OptionGroup var server: ServerOptions
    @Option(help: "The Patient id.") var patient: String
    @Option(help: "Why (10 to 500 characters).") var reason: String
    @Flag(help: "Do not ask for confirmation (scripts; the declaration is recorded all the same).") var yes = false

    func run() async throws {
        if !self.yes {
            guard isatty(STDIN_FILENO) != 0 else {
                throw CLIFailure.usage("break-glass asks for confirmation: run it at a terminal, or pass --yes").exit()
            }
            print(
                "Emergency access to Patient/\(self.patient) is recorded with your name and reason and reviewed by the regulator. Continue? [y/N] ",
                terminator: "")
            guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased(), ["y", "yes"].contains(answer) else {
                print("not declared")
                throw ExitCode(1)
            }
        }
        let body = try JSONSerialization.data(withJSONObject: ["patient": self.patient, "reason": self.reason])
        let reply = try await Login.post(self.server, "/auth/break-glass", json: String(decoding: body, as: UTF8.self), sendingToken: true)
        let answer = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        guard reply.status == 200, let token = answer?["access_token"] as? String else {
            throw CLIFailure(message: "break-glass refused (\(reply.status))", exitCode: reply.status == 400 ? 1 : 4).exit()
        }
        try Login.keep(token, in: self.server, until: Date().addingTimeInterval(Double(answer?["expires_in"] as? Int ?? 0)))
        print(
            "emergency access to Patient/\(self.patient) for \((answer?["expires_in"] as? Int ?? 0) / 60) minutes; every use is recorded with your reason"
        )
    }
}
