import ArgumentParser
import Foundation
import HubClient

/// Calls to the hub's API with hubctl's exit codes for what comes back: 3 for not found, 4 for
/// denied (not logged in, or not allowed), 1 for anything else that went wrong — each with a
/// one-line message saying what to do.
struct HubCall {
    let client: HubClient
    let settings: Profile

    /// Runs `body` with a client for `options`, shut down after; a failure is printed as one
    /// line and becomes its exit code.
    static func run<Result>(_ options: ServerOptions, _ body: (HubCall) async throws -> Result) async throws -> Result {
        do {
            let settings = try options.resolved()
            let client = try options.makeClient()
            let call = HubCall(client: client, settings: settings)
            do {
                let result = try await body(call)
                try? await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        } catch let failure as CLIFailure {
            throw failure.exit()
        }
    }

    /// A call whose 2xx reply is returned as it came; anything else is a ``CLIFailure``.
    func send(_ method: String = "GET", _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> HubClient.Reply {
        let reply: HubClient.Reply
        do {
            reply = try await self.client.send(method, path, headers: headers, body: body)
        } catch {
            throw CLIFailure(message: "\(self.client.configuration.serverURL): \(error.description)")
        }
        guard (200..<300).contains(reply.status) else {
            throw Self.failure(status: reply.status, (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:])
        }
        return reply
    }

    /// A JSON API call; a 2xx body as an object, anything else a ``CLIFailure``.
    func json(_ method: String = "GET", _ path: String, body: [String: Any]? = nil, headers: [(String, String)] = []) async throws -> [String: Any] {
        var headers = headers + [("Accept", "application/fhir+json")]
        var bytes: [UInt8]?
        if let body {
            bytes = Array(try JSONSerialization.data(withJSONObject: body))
            headers.append(("Content-Type", "application/fhir+json"))
        }
        let reply = try await self.send(method, path, headers: headers, body: bytes)
        return (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
    }

    /// What an error answer means for the person at the terminal.
    static func failure(status: Int, _ answer: [String: Any]) -> CLIFailure {
        let issue = (answer["issue"] as? [[String: Any]])?.first
        let detail = issue?["diagnostics"] as? String ?? answer["error_description"] as? String ?? "HTTP \(status)"
        switch status {
        case 401: return CLIFailure(message: "not logged in, or the login expired: run hubctl login", exitCode: 4)
        case 403: return CLIFailure(message: "denied: \(detail)", exitCode: 4)
        case 404, 410: return CLIFailure(message: "not found: \(detail) (or not visible to your organization)", exitCode: 3)
        default: return CLIFailure(message: detail)
        }
    }

    /// Every resource of a search, following `next` links; `progress` is told the running count.
    func search(_ path: String, limit: Int = 2_000, progress: ((Int) -> Void)? = nil) async throws -> [[String: Any]] {
        var resources: [[String: Any]] = []
        var next: String? = path
        while let page = next, resources.count < limit {
            let bundle = try await self.json("GET", page)
            resources += ((bundle["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
            progress?(resources.count)
            let link = (bundle["link"] as? [[String: Any]])?.first { $0["relation"] as? String == "next" }?["url"] as? String
            next = link.map { Self.path(of: $0, base: self.client.configuration.serverURL) }
        }
        return resources
    }

    /// A link the hub returned, as a path on this client's server.
    static func path(of url: String, base: String) -> String {
        if url.hasPrefix(base) { return String(url.dropFirst(base.count)) }
        if let parsed = URLComponents(string: url), let path = parsed.percentEncodedPath.isEmpty ? nil : parsed.percentEncodedPath {
            return path + (parsed.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        return url
    }

    /// `value` percent-encoded for a query string.
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

extension CLIFailure {
    /// A usage error: exit 2.
    static func usage(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 2) }
}

extension HubCall {
    /// The caller's organization, as the hub sees it.
    func organization() async throws -> String {
        guard let principal = try await self.json("GET", "/whoami")["principal"] as? [String: Any],
            let organization = principal["organization"] as? String
        else {
            throw CLIFailure(message: "not logged in, or the login expired: run hubctl login", exitCode: 4)
        }
        return organization
    }

    /// Updates a resource to what `change` makes of its current version, conditional on that
    /// version (a concurrent change is a conflict, not overwritten).
    func update(_ reference: String, _ change: (inout [String: Any]) -> Void) async throws -> [String: Any] {
        var resource = try await self.json("GET", "/fhir/\(reference)")
        let version = (resource["meta"] as? [String: Any])?["versionId"] as? String
        resource["meta"] = nil
        change(&resource)
        return try await self.json("PUT", "/fhir/\(reference)", body: resource, headers: version.map { [("If-Match", "W/\"\($0)\"")] } ?? [])
    }
}
