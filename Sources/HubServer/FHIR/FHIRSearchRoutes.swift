import Foundation
import HTTPTypes
import HubFHIR
public import HubResources
public import Hummingbird

/// FHIR search: `GET /fhir/{type}?…` and `POST /fhir/{type}/_search` (form-encoded).
public struct FHIRSearchRoutes: Sendable {
    let store: any ResourceStore

    public init(store: any ResourceStore) {
        self.store = store
    }

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.get(":type") { request, context in
            try await self.search(request, context, parameters: Self.parameters(request.uri.query ?? ""))
        }
        group.post(":type/_search") { request, context in
            var parameters = Self.parameters(request.uri.query ?? "")
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
                throw APIError(.unsupportedMediaType, code: .notSupported, diagnostics: "POST _search takes application/x-www-form-urlencoded")
            }
            var request = request
            let body = try await request.collectBody(upTo: .max)
            parameters += Self.parameters(String(buffer: body))
            return try await self.search(request, context, parameters: parameters)
        }
    }

    private func search(_ request: Request, _ context: HubRequestContext, parameters: [(String, String)]) async throws -> Response {
        let format = try FHIRFormat(request: request)
        let type = try FHIRResourceRoutes.type(context)
        let lenient = request.headers[.prefer]?.lowercased().contains("handling=lenient") ?? false
        let query = try SearchQuery(type: type, parameters: parameters, lenient: lenient)
        let result = try await self.store.search(query)
        let base = FHIRResourceRoutes.base(request)
        return format.response(.object(Self.bundle(result, query: query, base: base)))
    }

    /// `a=1&b=x%20y` → [("a", "1"), ("b", "x y")]; `+` is a space (form encoding).
    static func parameters(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { part in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            guard let name = parts.first, !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? parts[1] : "")
        }
    }

    static func bundle(_ result: SearchResult, query: SearchQuery, base: String) -> JSONObject {
        func link(_ relation: String, cursor: String?) -> JSONValue {
            var parameters = query.canonicalParameters
            parameters.append(("_count", String(query.count)))
            if let cursor { parameters.append(("_cursor", cursor)) }
            let text = parameters.map { name, value in
                "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? value)"
            }.joined(separator: "&")
            return .object(JSONObject([("relation", .string(relation)), ("url", .string("\(base)/\(query.type.rawValue)?\(text)"))]))
        }
        var bundle = JSONObject([("resourceType", .string("Bundle")), ("type", .string("searchset"))])
        if let total = result.total { bundle["total"] = .number(String(total)) }
        var links = [link("self", cursor: query.cursor)]
        if let next = result.nextCursor { links.append(link("next", cursor: next)) }
        bundle["link"] = .array(links)
        let entries: [JSONValue] = result.resources.compactMap { stored in
            guard let resource = stored.resource else { return nil }
            return .object(
                JSONObject([
                    ("fullUrl", .string("\(base)/\(stored.type.rawValue)/\(stored.id)")),
                    ("resource", .object(resource)),
                    ("search", .object(JSONObject([("mode", .string("match"))]))),
                ])
            )
        }
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        if !query.ignored.isEmpty {
            let outcome = OperationOutcome(
                issue: [.init(severity: .warning, code: .notSupported, diagnostics: "ignored parameters: \(query.ignored.joined(separator: ", "))")]
            )
            if let data = try? JSONEncoder().encode(outcome), let value = try? JSONParser.parse([UInt8](data)) {
                var entries = bundle["entry"]?.arrayValue ?? []
                entries.append(.object(JSONObject([("resource", value), ("search", .object(JSONObject([("mode", .string("outcome"))])))])))
                bundle["entry"] = .array(entries)
            }
        }
        return bundle
    }
}

extension CharacterSet {
    /// What may stand unescaped in a query value (not `&`, `=`, `+`).
    static let urlQueryValueAllowed: CharacterSet = {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        return allowed
    }()
}
