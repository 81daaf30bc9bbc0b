import Foundation
public import HubAuditCore
public import HubFHIR
public import HubResourcesCore

/// What a queued export must remember to run without its request: the request itself, who asked
/// (the audit trail names them on every page) and what they may read. Stored sealed — `_typeFilter`
/// criteria may hold identifiers.
public struct ExportJobDescription: Sendable, Equatable {
    public var request: ExportRequest
    /// The kick-off's URL as the client sent it: the manifest's `request`.
    public var requestURL: String
    public var caller: Caller
    /// The types the caller's scopes let it read when it asked (nil: all).
    public var readableTypes: Set<ResourceType>?
    /// The commission's population export grant the job reads under (the health data center's),
    /// checked again with every page; nil: what the organization itself may see.
    public var populationGrant: String?

    public init(request: ExportRequest, requestURL: String, caller: Caller, readableTypes: Set<ResourceType>?, populationGrant: String? = nil) {
        self.request = request
        self.requestURL = requestURL
        self.caller = caller
        self.readableTypes = readableTypes
        self.populationGrant = populationGrant
    }

    /// The access every page is read with: the asking organization's (never an emergency's), or
    /// its population grant's.
    public var access: RecordAccess? {
        guard let organization = self.caller.organization else { return nil }
        let rule: RecordAccess.Rule = self.populationGrant.map { .population(organization, grant: $0) } ?? .organization(organization)
        return RecordAccess(rule, readableTypes: self.readableTypes, writableTypes: [])
    }

    /// The compact JSON that is sealed.
    public var serialized: [UInt8] {
        var request = JSONObject([
            ("level", .string(self.request.level.rawValue)),
            ("types", .array(self.request.types.map { .string($0.rawValue) })),
            ("parameters", .array(self.request.parameterNames.map { .string($0) })),
        ])
        if let since = self.request.since { request["since"] = .string(UTCTime(since).timestampLiteral) }
        let filters = self.request.typeFilters.sorted { $0.key.rawValue < $1.key.rawValue }.map { type, criteria in
            (type.rawValue, JSONValue.array(criteria.map { .string($0) }))
        }
        if !filters.isEmpty { request["typeFilters"] = .object(JSONObject(filters)) }
        if let cohort = self.request.cohort {
            request["cohort"] = .object(
                JSONObject([("group", .string(cohort.group)), ("patients", .array(cohort.patients.map { .string($0) }))]))
        }
        var object = JSONObject([("request", .object(request)), ("url", .string(self.requestURL)), ("caller", .object(self.caller.jobJSON))])
        if let readable = self.readableTypes { object["readableTypes"] = .array(readable.map(\.rawValue).sorted().map { .string($0) }) }
        if let grant = self.populationGrant { object["populationGrant"] = .string(grant) }
        return JSONValue.object(object).serialized()
    }

    /// Reads what ``serialized`` wrote; nil for anything else.
    public init?(serialized bytes: [UInt8]) {
        guard let object = (try? JSONParser.parse(bytes))?.objectValue, let request = object["request"]?.objectValue,
            let caller = object["caller"]?.objectValue, let url = object["url"]?.stringValue,
            let level = request["level"]?.stringValue.flatMap(ExportRequest.Level.init(rawValue:)),
            let types = request["types"]?.arrayValue?.map({ $0.stringValue.flatMap(ResourceType.init(rawValue:)) }),
            let caller = Caller(jobJSON: caller)
        else { return nil }
        var since: Date?
        if let text = request["since"]?.stringValue {
            guard let date = FHIRDateRange(text)?.low else { return nil }
            since = date
        }
        var filters: [ResourceType: [String]] = [:]
        for member in request["typeFilters"]?.objectValue?.members ?? [] {
            guard let type = ResourceType(rawValue: member.key) else { return nil }
            filters[type] = member.value.elements.compactMap(\.stringValue)
        }
        let names = request["parameters"]?.elements.compactMap(\.stringValue) ?? []
        var cohort: ExportCohort?
        if let object = request["cohort"]?.objectValue {
            guard let group = object["group"]?.stringValue, let patients = object["patients"]?.arrayValue else { return nil }
            cohort = ExportCohort(group: group, patients: patients.compactMap(\.stringValue))
            guard cohort?.patients.count == patients.count else { return nil }
        }
        guard (level == .group) == (cohort != nil) else { return nil }
        self.request = ExportRequest(
            level: level, types: types.compactMap { $0 }, since: since, typeFilters: filters, parameterNames: names, cohort: cohort)
        guard self.request.types.count == types.count else { return nil }
        self.requestURL = url
        self.caller = caller
        self.readableTypes = object["readableTypes"].map { Set($0.elements.compactMap { $0.stringValue.flatMap(ResourceType.init(rawValue:)) }) }
        self.populationGrant = object["populationGrant"]?.stringValue
    }
}
