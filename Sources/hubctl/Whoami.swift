import ArgumentParser
import Foundation
import HubClient

/// `hubctl whoami`: who the hub takes you for.
struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show who the hub takes you for: principal, organization, scopes, certificate.")
    @OptionGroup var server: ServerOptions
    @Flag(help: "Print JSON: {server, profile, principal{id, role, organization, user, scopes}, clientCertificate, loginExpires}.") var json = false

    struct Report: Encodable {
        struct Principal: Codable {
            var id: String
            var role: String
            var organization: String
            var user: String?
            var scopes: [String]
        }

        struct Certificate: Codable {
            var subject: String?
            var fingerprintSHA256: String?
        }

        var server: String
        var profile: String
        var principal: Principal?
        var clientCertificate: Certificate?
        var loginExpires: Date?
    }

    func run() async throws {
        let report = try await HubCall.run(self.server) { call in
            let answer = try await call.json("GET", "/whoami")
            // null (no certificate, no login) is not an object: JSONSerialization would trap on it.
            let decode = { (value: Any?) -> Data? in (value as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) } }
            return Report(
                server: call.client.configuration.serverURL,
                profile: self.server.profileName,
                principal: decode(answer["principal"]).flatMap { try? JSONDecoder().decode(Report.Principal.self, from: $0) },
                clientCertificate: decode(answer["clientCertificate"]).flatMap { try? JSONDecoder().decode(Report.Certificate.self, from: $0) },
                loginExpires: call.settings.expiresAt
            )
        }
        if self.json {
            try Output.json(report)
            return
        }
        guard let principal = report.principal else {
            print("not logged in at \(report.server) (profile \(report.profile)): run hubctl login")
            throw ExitCode(4)
        }
        print(
            "\(principal.id) (\(principal.role)) of \(principal.organization)\(principal.user.flatMap { $0 == principal.id ? nil : ", acting for \($0)" } ?? "") at \(report.server)"
        )
        print("scopes: \(principal.scopes.joined(separator: " "))")
        if let certificate = report.clientCertificate, let subject = certificate.subject { print("certificate: \(subject)") }
        if let expires = report.loginExpires { print("login expires: \(expires.formatted(.iso8601))") }
    }
}
