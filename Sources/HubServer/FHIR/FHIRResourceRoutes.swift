import Foundation
import HTTPTypes
import HubAudit
import HubFHIR
public import HubResources
import HubWorkflows
public import Hummingbird

/// The FHIR REST interactions on single resources: create, read, vread, update, delete, history.
///
/// Handlers only translate between HTTP and the store: validation is ``ResourceValidator``'s,
/// versioning and encryption the ``ResourceStore``'s.
public struct FHIRResourceRoutes: Sendable {
    let store: any ResourceStore
    let validator: ResourceValidator
    let registration: PatientRegistration
    /// Registrations by resident ID card per organization (`access.registration_limit` per
    /// `access.registration_window_minutes`).
    let registrations: AttemptLimiter

    /// The interactions these routes implement, as the CapabilityStatement lists them.
    public static let interactions = ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"]

    public init(store: any ResourceStore, validator: ResourceValidator, registrations: AttemptLimiter = AttemptLimiter(attempts: 100, window: 3600)) {
        self.store = store
        self.validator = validator
        self.registration = PatientRegistration(residentIDSystem: validator.identifierSystems.residentID)
        self.registrations = registrations
    }

    public func add(to group: RouterGroup<HubRequestContext>) {
        self.addConditional(to: group)
        group.post(":type") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            context.audit.interaction("create", action: .create, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            let resource = try self.validator.validate(try await FHIRFormat.body(of: request), as: type, expectedID: nil)
            if let condition = request.headers[.ifNoneExist] {
                // Conditional create: no match creates, one match is returned as it is, more are 412.
                let parameters = try FHIRSearchRoutes.parameters(condition.hasPrefix("?") ? String(condition.dropFirst()) : condition)
                guard !parameters.isEmpty else { throw APIError.badRequest("If-None-Exist needs search parameters") }
                // Registering a patient by the number on their resident ID card finds them
                // wherever they were registered, and relates the registering organization to
                // them (docs/security.md); every other condition matches only what it may see.
                let registering: String?
                do {
                    registering = try self.registration.condition(type, parameters, resource)
                } catch let refusal as PatientRegistration.Refusal {
                    throw APIError.badRequest(refusal.description)
                }
                if registering != nil {
                    // Every registration is a lookup beyond what the caller sees: counted, per
                    // organization (its clinicians share one budget).
                    try self.registrations.attempt(access.organization ?? "", what: "registrations by resident ID card")
                }
                let matches = try await self.store.search(
                    try SearchQuery(
                        type: type, parameters: (registering.map { [("identifier", $0)] } ?? parameters) + [("_count", "2")], lenient: false),
                    access: registering != nil ? .unrestricted : access
                )
                if matches.resources.count > 1 {
                    throw APIError(.preconditionFailed, code: .multipleMatches, diagnostics: "If-None-Exist matches more than one \(type.rawValue)")
                }
                if let existing = matches.resources.first {
                    context.audit.interaction("create", action: .read, type: type.rawValue)
                    if registering != nil {
                        // Found beyond the caller's view: the attempt names the patient either way.
                        context.audit.targets.note(existing.id)
                        guard let registered = existing.resource, PatientRegistration.particularsMatch(presented: resource, registered: registered)
                        else {
                            // The number is registered, to someone else as far as the card shows:
                            // nothing of the registration is returned.
                            throw APIError(
                                .conflict, code: .conflict,
                                diagnostics: "the resident ID number is registered with a different name or birth date: check the card"
                            )
                        }
                        try await self.store.register(patientID: existing.id, access: access)
                    }
                    context.audit.returned([existing])
                    return Self.respond(existing, status: .ok, request: request, format: format, location: true)
                }
            }
            let stored = try await self.store.create(
                resource, type: type, access: access, audit: AuditContext(caller: context.caller, interaction: "create"))
            context.audit.recordedByStore()
            return Self.respond(stored, status: .created, request: request, format: format, location: true)
        }
        group.get(":type/:id") { request, context in
            let format = try FHIRFormat(request: request)
            context.audit.interaction("read", action: .read)
            let type = try Self.type(context)
            // `_summary` on a read: text, data or false (count is a search's); checked first.
            let summary = try request.uri.queryParameters.get("_summary").map { value throws(ResourceError) in try ResourceSummary(parameter: value) }
            let stored = try await self.store.read(type, id: try Self.id(context), access: try context.recordAccess(type))
            context.audit.returned([stored])
            if ConditionalRead.isNotModified(stored, headers: request.headers) { return ConditionalRead.notModified(stored) }
            if let summary {
                var summarised = stored
                summarised.resource = stored.resource.map { summary.apply(to: $0, type: type, mandatory: self.validator.mandatoryElements(of: type)) }
                return Self.respond(summarised, status: .ok, request: request, format: format, location: false)
            }
            return Self.respond(stored, status: .ok, request: request, format: format, location: false)
        }
        group.put(":type/:id") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            let id = try Self.id(context)
            context.audit.interaction("update", action: .update, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            let resource = try self.validator.validate(try await FHIRFormat.body(of: request), as: type, expectedID: id)
            let stored = try await self.store.update(
                resource, type: type, id: id, ifMatch: try Self.ifMatch(request), access: access,
                audit: AuditContext(caller: context.caller, interaction: "update"))
            context.audit.recordedByStore()
            return Self.respond(stored, status: .ok, request: request, format: format, location: true)
        }
        group.patch(":type/:id") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            let id = try Self.id(context)
            context.audit.interaction("patch", action: .update, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            return try await self.patch(type, id: id, request: request, context: context, access: access, format: format)
        }
        group.delete(":type/:id") { request, context in
            context.audit.interaction("delete", action: .delete)
            let type = try Self.type(context)
            let access = try context.recordAccess(type, write: true)
            let stored = try await self.store.delete(
                type, id: try Self.id(context), access: access, audit: AuditContext(caller: context.caller, interaction: "delete"))
            context.audit.recordedByStore()
            return Response(status: .noContent, headers: [.eTag: stored.eTag])
        }
        group.get(":type/_history") { request, context in
            context.audit.interaction("history-type", action: .read)
            let type = try Self.type(context)
            return try await self.history(request, context, type: type)
        }
        group.get("_history") { request, context in
            context.audit.interaction("history-system", action: .read)
            return try await self.history(request, context, type: nil)
        }
        group.get(":type/:id/_history") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            let id = try Self.id(context)
            let (window, count, cursor) = try Self.historyParameters(request)
            guard cursor == nil else { throw APIError.badRequest("an instance's history is one page (_count up to 1000)") }
            context.audit.interaction("history-instance", action: .read)
            let versions = try await self.store.history(type, id: id, count: count, window: window, access: try context.recordAccess(type))
            context.audit.returned(versions)
            return format.response(.object(Self.historyBundle(versions, base: Self.base(request))))
        }
        group.get(":type/:id/_history/:version") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            let id = try Self.id(context)
            context.audit.interaction("vread", action: .read)
            guard let version = context.parameters.get("version").flatMap({ Int($0) }), version > 0 else {
                throw APIError.badRequest("the version id must be a positive whole number")
            }
            let stored = try await self.store.read(type, id: id, version: version, access: try context.recordAccess(type))
            context.audit.returned([stored])
            if stored.isDeleted {
                throw ResourceError(.gone, .deleted, "version \(version) of \(type.rawValue)/\(id) is a deletion")
            }
            if ConditionalRead.isNotModified(stored, headers: request.headers) { return ConditionalRead.notModified(stored) }
            return Self.respond(stored, status: .ok, request: request, format: format, location: false)
        }
    }

    /// Type and system history: `_since`, `_at`, `_count`, and `_cursor` from a `next` link.
    private func history(_ request: Request, _ context: HubRequestContext, type: ResourceType?) async throws -> Response {
        let format = try FHIRFormat(request: request)
        let (window, count, cursor) = try Self.historyParameters(request)
        let (versions, next) = try await self.store.history(type, window: window, count: count, after: cursor, access: try context.recordAccess(type))
        context.audit.returned(versions)
        let base = Self.base(request)
        var bundle = Self.historyBundle(versions, base: base)
        let path = "\(base)/\(type.map { "\($0.rawValue)/" } ?? "")_history"
        var query = "_count=\(count)" + (window.since.map { "&_since=\($0.fhirInstant)" } ?? "")
        if let at = try FHIRSearchRoutes.parameters(request.uri.query ?? "").first(where: { $0.0 == "_at" })?.1 {
            query += "&_at=" + (at.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-:."))) ?? at)
        }
        query = query.replacingOccurrences(of: "+", with: "%2B")
        var links: [JSONValue] = [FHIRSearchRoutes.link("self", "\(path)?\(query)")]
        if let next {
            links.append(FHIRSearchRoutes.link("next", "\(path)?\(query)&_cursor=\(next)"))
        }
        bundle["link"] = .array(links)
        if versions.isEmpty { bundle["entry"] = nil }
        return format.response(.object(bundle))
    }

    /// Applies the request's JSON Patch to `type/id`. Without If-Match, the patch applies to
    /// whatever is current; a concurrent update in between is retried rather than lost.
    func patch(
        _ type: ResourceType, id: String, request: Request, context: HubRequestContext, access: RecordAccess, format: FHIRFormat
    ) async throws -> Response {
        let patch = try await Self.patch(of: request)
        let explicitVersion = try Self.ifMatch(request)
        for _ in 0..<3 {
            let current = try await self.store.read(type, id: id, access: access)
            guard let document = current.resource else { break }
            if let explicitVersion, explicitVersion != current.versionID {
                throw ResourceError(
                    .preconditionFailed, .conflict, "If-Match names version \(explicitVersion) but the current version is \(current.versionID)")
            }
            let patched: JSONValue
            do throws(JSONPatch.PatchError) {
                patched = try patch.apply(to: .object(document))
            } catch {
                throw APIError(.unprocessableContent, code: .processing, diagnostics: "the patch does not apply: \(error.message)")
            }
            let resource = try self.validator.validate(patched, as: type, expectedID: id)
            do {
                let stored = try await self.store.update(
                    resource, type: type, id: id, ifMatch: current.versionID, access: access,
                    audit: AuditContext(caller: context.caller, interaction: "patch"))
                context.audit.recordedByStore()
                return Self.respond(stored, status: .ok, request: request, format: format, location: true)
            } catch let error as ResourceError where error.code == .preconditionFailed && explicitVersion == nil {
                continue
            }
        }
        throw APIError(.conflict, code: .conflict, diagnostics: "\(type.rawValue)/\(id) kept changing; retry the patch")
    }

    /// A history's parameters: `_since` (an instant), `_at` (a date or dateTime, at its
    /// precision: `_at=2026-11` is November), `_count` (up to 1000, default 100) and `_cursor`.
    static func historyParameters(_ request: Request) throws -> (window: HistoryWindow, count: Int, cursor: String?) {
        var window = HistoryWindow()
        var count = 100
        var cursor: String?
        var seen: Set<String> = []
        for (name, value) in try FHIRSearchRoutes.parameters(request.uri.query ?? "") {
            // One of each: a page's next link must carry the window the first page had.
            guard seen.insert(name).inserted else { throw APIError.badRequest("history takes \(name) once", expression: [name]) }
            switch name {
            case "_since":
                guard let range = FHIRDateRange(value) else { throw APIError.badRequest("_since must be a FHIR instant", expression: ["_since"]) }
                window.since = range.low
            case "_at":
                guard let range = FHIRDateRange(value) else { throw APIError.badRequest("_at must be a FHIR date or dateTime", expression: ["_at"]) }
                window.at = range
            case "_count":
                guard let number = Int(value), number > 0 else { throw APIError.badRequest("_count must be a positive whole number") }
                count = min(number, 1000)
            case "_cursor": cursor = value
            case "_format", "_pretty": break
            default: throw APIError.badRequest("history takes _since, _at and _count (\(name) is not supported)")
            }
        }
        return (window, count, cursor)
    }

    // MARK: Request parts

    static func type(_ context: HubRequestContext) throws(APIError) -> ResourceType {
        let name = context.parameters.get("type") ?? ""
        guard let type = ResourceType(rawValue: name) else {
            throw APIError(.notFound, code: .notSupported, diagnostics: "resource type \(name) is not supported by this server (see /fhir/metadata)")
        }
        return type
    }

    static func id(_ context: HubRequestContext) throws(APIError) -> String {
        let id = context.parameters.get("id") ?? ""
        guard ResourceValidator.isValidID(id) else {
            throw APIError.badRequest("\(id) is not a FHIR id (1-64 characters of A-Z a-z 0-9 - .)")
        }
        return id
    }

    /// The request body as a JSON Patch (`application/json-patch+json`).
    static func patch(of request: Request) async throws -> JSONPatch {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json-patch+json") else {
            throw APIError(.unsupportedMediaType, code: .notSupported, diagnostics: "PATCH takes application/json-patch+json (JSON Patch)")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: .max)
        do {
            return try JSONPatch(try JSONParser.parse(Array(buffer: buffer)))
        } catch let error as JSONParser.ParseError {
            throw APIError.badRequest("the body is not valid JSON: \(error.description)")
        } catch let error as JSONPatch.PatchError {
            throw APIError.badRequest(error.message)
        }
    }

    /// `If-Match: W/"3"` (or `"3"`, or `3`) → 3.
    static func ifMatch(_ request: Request) throws(APIError) -> Int? {
        guard let header = request.headers[.ifMatch] else { return nil }
        var text = Substring(header.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        text = text.drop { $0 == "\"" }
        while text.last == "\"" { text = text.dropLast() }
        guard let version = Int(text), version > 0 else {
            throw APIError.badRequest("If-Match must name a version as W/\"n\"")
        }
        return version
    }

    /// `https://host:port/fhir`, from the request's Host header.
    static func base(_ request: Request) -> String {
        "https://\(request.head.authority ?? "localhost")/fhir"
    }

    // MARK: Responses

    static func respond(_ stored: StoredResource, status: HTTPResponse.Status, request: Request, format: FHIRFormat, location: Bool) -> Response {
        var headers: HTTPFields = [.eTag: stored.eTag, .lastModified: stored.lastUpdated.httpDate]
        if location {
            headers[.location] = "\(Self.base(request))/\(stored.versionedReference)"
        }
        switch request.headers[.prefer]?.lowercased().replacingOccurrences(of: " ", with: "") {
        case "return=minimal":
            return Response(status: status, headers: headers)
        case "return=operationoutcome":
            let outcome = OperationOutcome(
                issue: [.init(severity: .information, code: .informational, diagnostics: "\(stored.versionedReference) stored")]
            )
            return Response.json(outcome, status: status, contentType: HubMediaType.fhirJSON, headers: headers)
        default:
            return format.response(.object(stored.resource ?? JSONObject()), status: status, headers: headers)
        }
    }

    static func historyBundle(_ versions: [StoredResource], base: String) -> JSONObject {
        let entries: [JSONValue] = versions.map { version in
            var entry = JSONObject([("fullUrl", .string("\(base)/\(version.type.rawValue)/\(version.id)"))])
            if let resource = version.resource { entry["resource"] = .object(resource) }
            let method = version.isDeleted ? "DELETE" : (version.versionID == 1 ? "POST" : "PUT")
            let url = method == "POST" ? version.type.rawValue : "\(version.type.rawValue)/\(version.id)"
            entry["request"] = .object(JSONObject([("method", .string(method)), ("url", .string(url))]))
            entry["response"] = .object(
                JSONObject([
                    ("status", .string(version.isDeleted ? "204" : (version.versionID == 1 ? "201" : "200"))),
                    ("etag", .string(version.eTag)),
                    ("lastModified", .string(version.lastUpdated.fhirInstant)),
                ])
            )
            return .object(entry)
        }
        return JSONObject([
            ("resourceType", .string("Bundle")),
            ("type", .string("history")),
            ("entry", .array(entries)),
        ])
    }
}
