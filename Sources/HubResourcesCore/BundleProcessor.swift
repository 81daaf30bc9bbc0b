import Foundation
public import HubAuditCore
public import HubFHIR

/// Batch and transaction Bundles (`POST /fhir`).
///
/// A transaction is all-or-nothing: every entry is validated, `urn:uuid:` references between
/// entries are resolved to the ids the hub assigns, and the writes run in one database
/// transaction in FHIR's order (DELETE, POST, PUT, then reads). A batch runs each entry on its
/// own and reports each outcome.
public struct BundleProcessor: Sendable {
    let store: any ResourceStore
    let validator: ResourceValidator
    /// Answers GET search entries (`Type?criteria`, `Type`) as the search interaction does;
    /// without one they are refused.
    let searcher: (any BundleSearching)?
    /// Entries in one Bundle at most.
    public static let maximumEntries = 10_000
    /// Entries that search before anything is written (`ifNoneExist`, `Type?criteria`): each
    /// search may be costly, and they run one after another.
    public static let maximumConditionalEntries = 100
    /// GET entries that search: each may return a page and its includes.
    public static let maximumSearchEntries = 20
    /// Resources the GET entries of one Bundle may return together; entries beyond are
    /// answered `too-costly`.
    public static let maximumReturned = 10_000

    public init(store: any ResourceStore, validator: ResourceValidator, searcher: (any BundleSearching)? = nil) {
        self.store = store
        self.validator = validator
        self.searcher = searcher
    }

    enum Method: String {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case delete = "DELETE"

        var order: Int {
            switch self {
            case .delete: 0
            case .post: 1
            case .put: 2
            case .get: 3
            }
        }
    }

    struct Entry {
        var index: Int
        var method: Method
        var type: ResourceType
        var id: String?
        var fullURL: String?
        var resource: JSONObject?
        var ifMatch: Int?
        /// A POST's `ifNoneExist` criteria (conditional create).
        var ifNoneExist: [(String, String)]?
        /// What `ifNoneExist` found: the entry is that resource, and writes nothing.
        var existing: StoredResource?
        /// A conditional PUT's or DELETE's criteria (`Type?criteria` as its url).
        var criteria: [(String, String)]?
        /// A conditional PUT that matched nothing: it creates, under an id the hub assigns.
        var createsNew = false
        /// A conditional DELETE that matched nothing: nothing to do.
        var matchedNothing = false
        /// A GET that searches (`Type?criteria` or `Type`): its parameters.
        var search: [(String, String)]?
        /// A GET of one version (`Type/id/_history/n`).
        var version: Int?
        /// A GET's `ifNoneMatch` / `ifModifiedSince`.
        var readCondition = ReadCondition(ifNoneMatch: nil, ifModifiedSince: nil)
    }

    /// What processing a Bundle produced.
    public struct Outcome: Sendable {
        /// The `transaction-response` or `batch-response` Bundle.
        public var response: JSONObject
        /// What the Bundle's GET entries returned, for the audit trail (writes are audited by
        /// the store, in their transaction).
        public var read: [StoredResource]
        /// How many resources the store wrote (and audited in their transactions). A Bundle
        /// that wrote nothing — empty, or a batch whose every entry failed — is audited by the
        /// caller like any other request.
        public var written = 0
    }

    /// Processes a Bundle for `caller`, who may see and write what `access` allows.
    public func process(_ value: JSONValue, base: String, caller: Caller, access: RecordAccess) async throws -> Outcome {
        guard let bundle = value.objectValue, bundle["resourceType"]?.stringValue == "Bundle" else {
            throw ResourceError(.invalid, .invalid, "POST /fhir takes a Bundle", expression: ["Bundle"])
        }
        let kind = bundle["type"]?.stringValue
        guard kind == "transaction" || kind == "batch" else {
            throw ResourceError(.invalid, .value, "Bundle.type must be transaction or batch", expression: ["Bundle.type"])
        }
        let rawEntries = bundle["entry"]?.arrayValue ?? []
        guard rawEntries.count <= Self.maximumEntries else {
            throw ResourceError(.invalid, .tooCostly, "a Bundle may hold at most \(Self.maximumEntries) entries", expression: ["Bundle.entry"])
        }
        // Batches too: each entry runs on its own, but the searches still run one after another.
        let conditional = rawEntries.filter { raw in
            let request = raw.objectValue?["request"]?.objectValue
            let url = request?["url"]?.stringValue ?? ""
            let searchesAll = request?["method"]?.stringValue == "GET" && !url.contains("/")
            return request?["ifNoneExist"] != nil || url.contains("?") || searchesAll
        }
        guard conditional.count <= Self.maximumConditionalEntries else {
            throw ResourceError(
                .invalid, .tooCostly, "a Bundle may hold at most \(Self.maximumConditionalEntries) conditional entries", expression: ["Bundle.entry"])
        }
        let searches = conditional.filter { $0.objectValue?["request"]?.objectValue?["method"]?.stringValue == "GET" }
        guard searches.count <= Self.maximumSearchEntries else {
            throw ResourceError(
                .invalid, .tooCostly, "a Bundle may hold at most \(Self.maximumSearchEntries) GET entries that search", expression: ["Bundle.entry"])
        }
        if kind == "transaction" {
            let entries = try rawEntries.enumerated().map { index, raw throws(ResourceError) in try Self.entry(raw, index: index) }
            return try await self.transaction(entries, base: base, access: access, audit: AuditContext(caller: caller, interaction: "transaction"))
        }
        var responses: [JSONValue] = []
        var read: [StoredResource] = []
        var written = 0
        for (index, raw) in rawEntries.enumerated() {
            do {
                let entry = try Self.entry(raw, index: index)
                let outcome = try await self.transaction(
                    [entry], base: base, access: access, audit: AuditContext(caller: caller, interaction: "batch"), returnedBefore: read.count)
                responses.append(outcome.response["entry"]?.arrayValue?.first ?? .object(JSONObject()))
                read += outcome.read
                written += outcome.written
            } catch let error as ResourceError {
                responses.append(Self.errorEntry(error))
            }
        }
        let response = JSONObject([("resourceType", .string("Bundle")), ("type", .string("batch-response")), ("entry", .array(responses))])
        return Outcome(response: response, read: read)
    }

    private func transaction(
        _ entries: [Entry], base: String, access: RecordAccess, audit: AuditContext, returnedBefore: Int = 0
    ) async throws -> Outcome {
        var entries = entries
        for entry in entries {
            do {
                try access.require(entry.type, write: entry.method != .get)
            } catch {
                var located = error
                located.diagnostics = "entry \(entry.index): \(error.diagnostics)"
                throw located
            }
        }
        // Conditional creates: a match (among what the caller sees) stands for the entry, and
        // references to its fullUrl resolve to it; more than one fails the entry.
        for index in entries.indices {
            guard let criteria = entries[index].ifNoneExist else { continue }
            entries[index].existing = try await self.match(
                entries[index], criteria, access: access, expression: "Bundle.entry[\(index)].request.ifNoneExist")
        }
        // Conditional updates and deletes: the criteria name the record (among what the caller
        // sees), or none; more than one fails the entry (R4 §3.1.0.4.3, §3.1.0.7.1).
        for index in entries.indices {
            guard let criteria = entries[index].criteria else { continue }
            let type = entries[index].type
            let match = try await self.match(entries[index], criteria, access: access, expression: "Bundle.entry[\(index)].request.url")
            if let match {
                entries[index].id = match.id
                if entries[index].method == .put, var resource = entries[index].resource {
                    // The match's id, unless the body names another (then validation refuses it).
                    if resource["id"] == nil { resource["id"] = .string(match.id) }
                    entries[index].resource = resource
                }
            } else if entries[index].method == .put {
                guard entries[index].ifMatch == nil else {
                    throw ResourceError(
                        .preconditionFailed, .conflict, "entry \(index): ifMatch names a version, but no \(type.rawValue) matches",
                        expression: ["Bundle.entry[\(index)].request.ifMatch"])
                }
                guard entries[index].resource?["id"] == nil else {
                    throw ResourceError(
                        .invalid, .invalid, "entry \(index): no \(type.rawValue) matches, and the hub assigns ids: send the resource without an id",
                        expression: ["Bundle.entry[\(index)].resource.id"])
                }
                entries[index].createsNew = true
            } else {
                entries[index].matchedNothing = true
            }
        }
        // Assign ids to creates and resolve references to them.
        var resolved: [String: String] = [:]
        for index in entries.indices where entries[index].method == .put && entries[index].criteria != nil {
            // A conditional update's fullUrl resolves to the record it matched or creates.
            if entries[index].createsNew { entries[index].id = UUID().uuidString.lowercased() }
            if let fullURL = entries[index].fullURL, let id = entries[index].id {
                guard resolved[fullURL] == nil else {
                    throw ResourceError(.invalid, .duplicate, "fullUrl \(fullURL) appears twice", expression: ["Bundle.entry[\(index)].fullUrl"])
                }
                resolved[fullURL] = "\(entries[index].type.rawValue)/\(id)"
            }
        }
        // R4: a transaction fails when two entries write the same resource, however named
        // (by id or by criteria); and two creates by the same criteria would make two records.
        var written: Set<String> = []
        var creatingCriteria: Set<String> = []
        for entry in entries where entry.method != .get && entry.existing == nil && !entry.matchedNothing {
            if let id = entry.id, !entry.createsNew, !written.insert("\(entry.type.rawValue)/\(id)").inserted {
                throw ResourceError(
                    .invalid, .duplicate, "entry \(entry.index): another entry of this Bundle writes \(entry.type.rawValue)/\(id) too",
                    expression: ["Bundle.entry[\(entry.index)].request.url"])
            }
            // A create by criteria: an upsert that matched nothing, or a POST whose ifNoneExist did not.
            if let criteria = entry.createsNew ? entry.criteria : (entry.method == .post ? entry.ifNoneExist : nil) {
                let key = entry.type.rawValue + "?" + criteria.map { "\($0.0)=\($0.1)" }.sorted().joined(separator: "&")
                guard creatingCriteria.insert(key).inserted else {
                    throw ResourceError(
                        .invalid, .duplicate, "entry \(entry.index): another entry of this Bundle creates by the same criteria",
                        expression: ["Bundle.entry[\(entry.index)].request.url"])
                }
            }
        }
        for index in entries.indices where entries[index].method == .post {
            if let existing = entries[index].existing {
                if let fullURL = entries[index].fullURL {
                    guard resolved[fullURL] == nil else {
                        throw ResourceError(.invalid, .duplicate, "fullUrl \(fullURL) appears twice", expression: ["Bundle.entry[\(index)].fullUrl"])
                    }
                    resolved[fullURL] = "\(existing.type.rawValue)/\(existing.id)"
                }
                continue
            }
            let id = UUID().uuidString.lowercased()
            entries[index].id = id
            if let fullURL = entries[index].fullURL {
                guard resolved[fullURL] == nil else {
                    throw ResourceError(.invalid, .duplicate, "fullUrl \(fullURL) appears twice", expression: ["Bundle.entry[\(index)].fullUrl"])
                }
                resolved[fullURL] = "\(entries[index].type.rawValue)/\(id)"
            }
        }
        var operations: [(Int, WriteOperation)] = []
        for entry in entries.sorted(by: { ($0.method.order, $0.index) < ($1.method.order, $1.index) })
        where entry.existing == nil && !entry.matchedNothing {
            switch entry.method {
            case .post, .put:
                guard let resource = entry.resource else {
                    throw ResourceError(
                        .invalid, .required, "a \(entry.method.rawValue) entry needs a resource",
                        expression: ["Bundle.entry[\(entry.index)].resource"])
                }
                let rewritten = Self.resolvingReferences(in: .object(resource), resolved)
                if let unresolved = Self.firstUnresolvedReference(in: rewritten) {
                    throw ResourceError(
                        .invalid,
                        .notFound,
                        "reference \(unresolved) names no entry of this Bundle",
                        expression: ["Bundle.entry[\(entry.index)].resource"]
                    )
                }
                let valid: JSONObject
                do {
                    valid = try self.validator.validate(
                        rewritten, as: entry.type, expectedID: entry.method == .put && !entry.createsNew ? entry.id : nil)
                } catch {
                    var located = error
                    located.expression = error.expression.map { $0.map { "Bundle.entry[\(entry.index)].resource.\($0)" } }
                    located.diagnostics = "entry \(entry.index): \(error.diagnostics)"
                    throw located
                }
                let operation: WriteOperation =
                    entry.method == .post || entry.createsNew
                    ? .create(entry.type, id: entry.id, valid)
                    : .update(entry.type, id: entry.id ?? "", valid, ifMatch: entry.ifMatch)
                operations.append((entry.index, operation))
            case .delete:
                operations.append((entry.index, .delete(entry.type, id: entry.id ?? "")))
            case .get:
                break
            }
        }
        let results = operations.isEmpty ? [] : try await self.store.transaction(operations.map(\.1), access: access, audit: audit)
        var byIndex: [Int: StoredResource] = [:]
        for ((index, _), stored) in zip(operations, results) { byIndex[index] = stored }
        var responses: [JSONValue] = []
        var read: [StoredResource] = []
        for entry in entries {
            if entry.method == .get {
                do {
                    guard returnedBefore + read.count < Self.maximumReturned else {
                        throw ResourceError(
                            .invalid, .tooCostly,
                            "entry \(entry.index): the Bundle's GET entries have returned \(Self.maximumReturned) resources, the most one Bundle returns"
                        )
                    }
                    if let parameters = entry.search {
                        guard let searcher = self.searcher else {
                            throw ResourceError(.invalid, .notSupported, "entry \(entry.index): GET searches are not offered here")
                        }
                        let (bundle, returned) = try await searcher.searchset(entry.type, parameters: parameters, base: base, access: access)
                        read += returned
                        let response = JSONObject([("status", .string("200 OK"))])
                        responses.append(.object(JSONObject([("resource", .object(bundle)), ("response", .object(response))])))
                        continue
                    }
                    let stored =
                        if let version = entry.version {
                            try await self.store.read(entry.type, id: entry.id ?? "", version: version, access: access)
                        } else {
                            try await self.store.read(entry.type, id: entry.id ?? "", access: access)
                        }
                    // A version that is a deletion is gone, as a vread answers it.
                    if entry.version != nil, stored.isDeleted {
                        throw ResourceError(
                            .gone, .deleted,
                            "entry \(entry.index): \(entry.type.rawValue)/\(entry.id ?? "") version \(entry.version ?? 0) is a deletion")
                    }
                    read.append(stored)
                    if entry.readCondition.isNotModified(stored) {
                        let response = JSONObject([
                            ("status", .string("304 Not Modified")), ("etag", .string(stored.eTag)),
                            ("lastModified", .string(stored.lastUpdated.fhirInstant)),
                        ])
                        responses.append(.object(JSONObject([("response", .object(response))])))
                    } else {
                        responses.append(Self.responseEntry(stored, status: "200 OK", base: base))
                    }
                } catch let error as ResourceError {
                    responses.append(Self.errorEntry(error))
                }
                continue
            }
            if let existing = entry.existing {
                read.append(existing)
                responses.append(Self.responseEntry(existing, status: "200 OK", base: base))
                continue
            }
            if entry.matchedNothing {
                responses.append(.object(JSONObject([("response", .object(JSONObject([("status", .string("204 No Content"))])))])))
                continue
            }
            guard let stored = byIndex[entry.index] else { continue }
            let status = entry.method == .post || entry.createsNew ? "201 Created" : (entry.method == .delete ? "204 No Content" : "200 OK")
            responses.append(Self.responseEntry(stored, status: status, base: base))
        }
        let response = JSONObject([("resourceType", .string("Bundle")), ("type", .string("transaction-response")), ("entry", .array(responses))])
        return Outcome(response: response, read: read, written: results.count)
    }

    /// ``ResourceStore/conditionalMatch(_:criteria:access:expression:)`` for an entry, its
    /// refusals saying which entry.
    private func match(_ entry: Entry, _ criteria: [(String, String)], access: RecordAccess, expression: String) async throws -> StoredResource? {
        do {
            return try await self.store.conditionalMatch(entry.type, criteria: criteria, access: access, expression: expression)
        } catch var error as ResourceError {
            error.diagnostics = "entry \(entry.index): \(error.diagnostics)"
            throw error
        }
    }

    // MARK: Parsing

    static func entry(_ raw: JSONValue, index: Int) throws(ResourceError) -> Entry {
        let path = "Bundle.entry[\(index)]"
        guard let object = raw.objectValue, let request = object["request"]?.objectValue else {
            throw ResourceError(.invalid, .required, "each entry needs a request", expression: ["\(path).request"])
        }
        guard let methodName = request["method"]?.stringValue, let method = Method(rawValue: methodName) else {
            throw ResourceError(.invalid, .notSupported, "request.method must be GET, POST, PUT or DELETE", expression: ["\(path).request.method"])
        }
        guard let url = request["url"]?.stringValue else {
            throw ResourceError(.invalid, .required, "request.url is required", expression: ["\(path).request.url"])
        }
        // `Type?criteria`: a conditional update or delete, or a search.
        let pathPart = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var criteria: [(String, String)]?
        var search: [(String, String)]?
        if method == .get, !pathPart[0].contains("/") {
            search = try SearchQuery.parameters(inQuery: pathPart.count == 2 ? String(pathPart[1]) : "").filter {
                !SearchQuery.passThrough.contains($0.0)
            }
        } else if pathPart.count == 2 {
            guard method == .put || method == .delete else {
                throw ResourceError(
                    .invalid, .notSupported, "request.url takes criteria (Type?criteria) only for a conditional PUT or DELETE, or a search",
                    expression: ["\(path).request.url"])
            }
            let parsed = try SearchQuery.parameters(inQuery: String(pathPart[1])).filter { !SearchQuery.passThrough.contains($0.0) }
            guard !parsed.isEmpty, !pathPart[0].contains("/") else {
                throw ResourceError(
                    .invalid, .invalid, "a conditional \(method.rawValue) takes Type?criteria as url", expression: ["\(path).request.url"])
            }
            criteria = parsed
        }
        let parts = pathPart[0].split(separator: "/").map(String.init)
        guard let typeName = parts.first, let type = ResourceType(rawValue: typeName) else {
            throw ResourceError(.invalid, .notSupported, "\(url) names no supported resource type", expression: ["\(path).request.url"])
        }
        let needsID = method != .post && criteria == nil && search == nil
        // `Type/id/_history/n`: a GET of one version.
        var version: Int?
        if method == .get, parts.count == 4, parts[2] == "_history" {
            guard let number = Int(parts[3]), number > 0 else {
                throw ResourceError(.invalid, .invalid, "\(url) names no version", expression: ["\(path).request.url"])
            }
            version = number
        }
        guard parts.count == (needsID ? 2 : 1) || version != nil, !needsID || ResourceValidator.isValidID(parts[1]) else {
            throw ResourceError(
                .invalid, .invalid, "\(method.rawValue) takes \(needsID ? "Type/id" : "Type") as url, not \(url)", expression: ["\(path).request.url"]
            )
        }
        var ifMatch: Int?
        if let header = request["ifMatch"]?.stringValue {
            let digits = header.filter(\.isNumber)
            guard let version = Int(digits) else {
                throw ResourceError(.invalid, .invalid, "ifMatch must name a version as W/\"n\"", expression: ["\(path).request.ifMatch"])
            }
            ifMatch = version
        }
        var ifNoneExist: [(String, String)]?
        if let condition = request["ifNoneExist"] {
            guard method == .post, let text = condition.stringValue,
                case let criteria = try SearchQuery.parameters(inQuery: text.hasPrefix("?") ? String(text.dropFirst()) : text), !criteria.isEmpty
            else {
                throw ResourceError(
                    .invalid, .invalid, "ifNoneExist is a POST's search criteria ([criteria], e.g. identifier=system|value)",
                    expression: ["\(path).request.ifNoneExist"])
            }
            ifNoneExist = criteria
        }
        let readCondition = ReadCondition(
            ifNoneMatch: request["ifNoneMatch"]?.stringValue, ifModifiedSince: request["ifModifiedSince"]?.stringValue, takesInstants: true)
        guard readCondition.isEmpty || (method == .get && search == nil) else {
            throw ResourceError(
                .invalid, .invalid, "ifNoneMatch and ifModifiedSince apply to GET entries that read (Type/id)", expression: ["\(path).request"])
        }
        return Entry(
            index: index,
            method: method,
            type: type,
            id: needsID ? parts[1] : nil,
            fullURL: object["fullUrl"]?.stringValue,
            resource: object["resource"]?.objectValue,
            ifMatch: ifMatch,
            ifNoneExist: ifNoneExist,
            criteria: criteria,
            search: search,
            version: version,
            readCondition: readCondition
        )
    }

    static func resolvingReferences(in value: JSONValue, _ resolved: [String: String]) -> JSONValue {
        switch value {
        case .array(let values):
            return .array(values.map { Self.resolvingReferences(in: $0, resolved) })
        case .object(var object):
            for member in object.members {
                if member.key == "reference", let text = member.value.stringValue, let target = resolved[text] {
                    object["reference"] = .string(target)
                } else {
                    object[member.key] = Self.resolvingReferences(in: member.value, resolved)
                }
            }
            return .object(object)
        default:
            return value
        }
    }

    static func firstUnresolvedReference(in value: JSONValue) -> String? {
        switch value {
        case .array(let values):
            return values.lazy.compactMap { Self.firstUnresolvedReference(in: $0) }.first
        case .object(let object):
            if let reference = object["reference"]?.stringValue, reference.hasPrefix("urn:uuid:") { return reference }
            return object.members.lazy.compactMap { Self.firstUnresolvedReference(in: $0.value) }.first
        default:
            return nil
        }
    }

    static func responseEntry(_ stored: StoredResource, status: String, base: String) -> JSONValue {
        var response = JSONObject([
            ("status", .string(status)), ("etag", .string(stored.eTag)), ("lastModified", .string(stored.lastUpdated.fhirInstant)),
        ])
        if !stored.isDeleted { response["location"] = .string("\(stored.versionedReference)") }
        var entry = JSONObject([("fullUrl", .string("\(base)/\(stored.type.rawValue)/\(stored.id)"))])
        if let resource = stored.resource { entry["resource"] = .object(resource) }
        entry["response"] = .object(response)
        return .object(entry)
    }

    static func errorEntry(_ error: ResourceError) -> JSONValue {
        var issue = JSONObject([
            ("severity", .string("error")), ("code", .string(error.issueType.rawValue)), ("diagnostics", .string(error.diagnostics)),
        ])
        if let expression = error.expression { issue["expression"] = .array(expression.map(JSONValue.string)) }
        let outcome = JSONObject([("resourceType", .string("OperationOutcome")), ("issue", .array([.object(issue)]))])
        return .object(JSONObject([("response", .object(JSONObject([("status", .string(error.code.statusLine)), ("outcome", .object(outcome))])))]))
    }
}

/// Answers a Bundle's GET search entries as the search interaction does (the server's, which
/// flags and summarises what it returns): the searchset, and what it returned for the audit.
public protocol BundleSearching: Sendable {
    func searchset(_ type: ResourceType, parameters: [(String, String)], base: String, access: RecordAccess) async throws -> (
        bundle: JSONObject, returned: [StoredResource]
    )
}
