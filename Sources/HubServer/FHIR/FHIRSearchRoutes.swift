import Foundation
import HTTPTypes
import HubAudit
import HubFHIR
public import HubResources
public import HubWorkflows
public import Hummingbird

/// FHIR search: `GET /fhir/{type}?…` and `POST /fhir/{type}/_search` (form-encoded), and
/// `Observation/$lastn`. Observations are returned with the mutual-recognition tag where the
/// policy recognises them.
public struct FHIRSearchRoutes: Sendable {
    /// Searches, as Bundle GET entries get them too.
    let answer: SearchAnswer
    var store: any ResourceStore { self.answer.store }
    var recognition: MutualRecognitionPolicy { self.answer.recognition }

    public init(
        store: any ResourceStore, recognition: MutualRecognitionPolicy = .init(accreditedOrganizations: [], maximumAgeDays: [:]),
        validator: ResourceValidator? = nil
    ) {
        self.answer = SearchAnswer(store: store, recognition: recognition, validator: validator)
    }

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.get(":type") { request, context in
            try await self.search(request, context, parameters: try Self.parameters(request.uri.query ?? ""))
        }
        // `Observation/$lastn` (FHIR R4): a patient's latest results per code.
        group.get(":type/$lastn") { request, context in
            let format = try FHIRFormat(request: request)
            guard try FHIRResourceRoutes.type(context) == .observation else {
                throw APIError(.notFound, code: .notSupported, diagnostics: "$lastn is defined on Observation only")
            }
            context.audit.interaction("operation", action: .read, type: "Observation")
            // R4 $lastn: `max`, and Observation's search parameters; one patient, always.
            var patient: String?
            var max = 1
            var criteria: [(String, String)] = []
            for (name, value) in try Self.parameters(request.uri.query ?? "") {
                switch name {
                case "patient", "subject":
                    guard patient == nil else { throw APIError.badRequest("$lastn is for one patient: give patient once") }
                    patient = value.hasPrefix("Patient/") ? String(value.dropFirst(8)) : value
                case "max":
                    guard let number = Int(value), (1...100).contains(number) else {
                        throw APIError.badRequest("max is a whole number from 1 to 100")
                    }
                    max = number
                default: criteria.append((name, value))
                }
            }
            guard let patient, ResourceValidator.isValidID(patient) else { throw APIError.badRequest("$lastn needs patient=<Patient id>") }
            let lenient = request.headers[.prefer]?.lowercased().contains("handling=lenient") ?? false
            let query = try SearchQuery(type: .observation, parameters: criteria, lenient: lenient)
            guard query.isCriteriaOnly else {
                throw APIError.badRequest(
                    "$lastn takes Observation's search criteria and max; not _count, _include, _sort, _total, _summary, _elements or paging")
            }
            let found = try await self.store.lastN(query, patientID: patient, max: max, access: try context.recordAccess(.observation))
            context.audit.returned(found)
            let now = Date()
            let bundle = Self.entriesBundle(found.map { self.recognition.flagged($0, at: now) }, base: FHIRResourceRoutes.base(request))
            return format.response(.object(bundle))
        }
        // Registered for every type (the router does not backtrack from a constant `Patient`
        // segment to `:type`), answered for Patient only.
        group.get(":type/:id/$everything") { request, context in
            let format = try FHIRFormat(request: request)
            guard try FHIRResourceRoutes.type(context) == .patient else {
                throw APIError(.notFound, code: .notSupported, diagnostics: "$everything is defined on Patient only")
            }
            let id = try FHIRResourceRoutes.id(context)
            context.audit.interaction("operation", action: .read, type: "Patient")
            let parameters = try Self.parameters(request.uri.query ?? "")
            var count = 50
            var cursor: String?
            var filter = CaseHistoryFilter()
            var kept = ""  // `_since` and `_type` as given, for the links
            for (name, value) in parameters {
                switch name {
                case "_count":
                    guard let number = Int(value), number > 0 else { throw APIError.badRequest("_count must be a positive whole number") }
                    count = min(number, SearchQuery.maximumCount)
                case "_cursor": cursor = value
                case "_since":
                    guard filter.since == nil, let range = FHIRDateRange(value) else {
                        throw APIError.badRequest("_since is one instant (e.g. 2026-11-01T00:00:00+08:00)", expression: ["_since"])
                    }
                    filter.since = range.low
                case "_type":
                    var types: Set<ResourceType> = filter.types ?? []
                    for name in value.split(separator: ",", omittingEmptySubsequences: false) {
                        guard let type = ResourceType(rawValue: String(name)) else {
                            throw APIError.badRequest("_type names resource types this hub stores (\(name) is not one)", expression: ["_type"])
                        }
                        types.insert(type)
                    }
                    filter.types = types
                case "_format", "_pretty": continue
                default: throw APIError.badRequest("$everything takes _since, _type and _count (\(name) is not supported)")
                }
                if ["_since", "_type"].contains(name) {
                    kept += "&\(name)=" + (value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? value)
                }
            }
            let result = try await self.store.everything(
                patientID: id, count: count, after: cursor, filter: filter, access: try context.recordAccess(.patient))
            context.audit.returned(result.resources)
            let base = FHIRResourceRoutes.base(request)
            var bundle = Self.entriesBundle(result.resources, base: base)
            var links: [JSONValue] = [
                Self.link("self", "\(base)/Patient/\(id)/$everything?_count=\(count)\(kept)" + (cursor.map { "&_cursor=\($0)" } ?? ""))
            ]
            if let next = result.nextCursor {
                let escaped = next.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? next
                links.append(Self.link("next", "\(base)/Patient/\(id)/$everything?_count=\(count)\(kept)&_cursor=\(escaped)"))
            }
            bundle["link"] = .array(links)
            return format.response(.object(bundle))
        }
        group.post(":type/_search") { request, context in
            var parameters = try Self.parameters(request.uri.query ?? "")
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
                throw APIError(.unsupportedMediaType, code: .notSupported, diagnostics: "POST _search takes application/x-www-form-urlencoded")
            }
            var request = request
            let body = try await request.collectBody(upTo: .max)
            parameters += try Self.parameters(String(buffer: body))
            return try await self.search(request, context, parameters: parameters)
        }
    }

    private func search(_ request: Request, _ context: HubRequestContext, parameters: [(String, String)]) async throws -> Response {
        let format = try FHIRFormat(request: request)
        let type = try FHIRResourceRoutes.type(context)
        let lenient = request.headers[.prefer]?.lowercased().contains("handling=lenient") ?? false
        context.audit.interaction("search-type", action: .read, type: type.rawValue)
        let (bundle, returned) = try await self.answer.searchset(
            type, parameters: parameters, lenient: lenient, base: FHIRResourceRoutes.base(request), access: try context.recordAccess(type))
        context.audit.returned(returned)
        return format.response(.object(bundle))
    }

    /// The query's parameters, decoded (``SearchQuery/parameters(inQuery:)``).
    static func parameters(_ text: String) throws(ResourceError) -> [(String, String)] {
        try SearchQuery.parameters(inQuery: text)
    }

    static func link(_ relation: String, _ url: String) -> JSONValue {
        .object(JSONObject([("relation", .string(relation)), ("url", .string(url))]))
    }

    /// A searchset Bundle of `resources` (links added by the caller).
    static func entriesBundle(_ resources: [StoredResource], base: String, mode: String = "match", elements: [String]? = nil) -> JSONObject {
        var bundle = JSONObject([("resourceType", .string("Bundle")), ("type", .string("searchset"))])
        let entries: [JSONValue] = resources.compactMap { stored in
            guard var resource = stored.resource else { return nil }
            if let elements { resource = Self.subsetted(resource, keeping: elements) }
            return .object(
                JSONObject([
                    ("fullUrl", .string("\(base)/\(stored.type.rawValue)/\(stored.id)")),
                    ("resource", .object(resource)),
                    ("search", .object(JSONObject([("mode", .string(mode))]))),
                ])
            )
        }
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        return bundle
    }

    /// `_elements`: the listed top-level elements plus what a resource cannot be without
    /// (`resourceType`, `id`, `meta`), tagged SUBSETTED as FHIR R4 §3.1.1.5.9 requires.
    static func subsetted(_ resource: JSONObject, keeping elements: [String]) -> JSONObject {
        let keep = Set(elements)
        return ResourceSummary.subsetted(resource) { keep.contains($0) }
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
        var bundle = Self.entriesBundle(result.resources, base: base, elements: query.elements)
        if !result.included.isEmpty {
            var entries = bundle["entry"]?.arrayValue ?? []
            entries += Self.entriesBundle(result.included, base: base, mode: "include")["entry"]?.arrayValue ?? []
            bundle["entry"] = .array(entries)
        }
        if let total = result.total { bundle["total"] = .number(String(total)) }
        var links = [link("self", cursor: query.cursor)]
        if let next = result.nextCursor { links.append(link("next", cursor: next)) }
        bundle["link"] = .array(links)
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
