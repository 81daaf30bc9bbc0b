public import Foundation
public import HubFHIR
public import HubResourcesCore

/// A Bulk Data kick-off (`GET [base]/$export`, `GET [base]/Patient/$export`,
/// `GET [base]/Group/[id]/$export`; FHIR Bulk Data Access IG v2) as a value: what to export, checked before anything is queued so that a job
/// never fails on a parameter it could have refused at once.
public struct ExportRequest: Sendable, Equatable {
    /// Which resources the export reads.
    public enum Level: String, Sendable, CaseIterable {
        /// Every resource the caller may see.
        case system
        /// Resources in some patient's compartment (the Patients among them), of the patients
        /// the caller may see.
        case patient
        /// As `patient`, of the members of one Group (``cohort``).
        case group
    }

    /// The one output format: FHIR resources as newline-delimited JSON.
    public static let outputFormat = "application/fhir+ndjson"
    /// What `_outputFormat` may say (IG v2: the media type and its abbreviations); `+` read as
    /// a space is what a client that did not percent-encode it sends.
    static let outputFormats: Set = ["application/fhir+ndjson", "application/fhir ndjson", "application/ndjson", "ndjson"]
    /// A `_typeFilter` takes criteria only: what shapes a page is the export's to decide.
    static let resultParameters: Set = [
        "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_contained", "_containedType", "_cursor",
    ]
    /// At most this many `_typeFilter` queries per export.
    public static let maximumTypeFilters = 20

    public var level: Level
    /// The types exported, in the order their files are written.
    public var types: [ResourceType]
    /// Only resources changed after this instant (`_since`; `meta.lastUpdated` later than it).
    public var since: Date?
    /// `_typeFilter`: per type, criteria of which a resource must match one (each a query string
    /// as a search takes it). A type without filters is exported whole.
    public var typeFilters: [ResourceType: [String]]
    /// The kick-off's parameter names, for the audit trail (never their values).
    public var parameterNames: [String]
    /// A Group-level export's Group and its member patients, read when the job is queued.
    public var cohort: ExportCohort?

    public init(
        level: Level, types: [ResourceType], since: Date?, typeFilters: [ResourceType: [String]], parameterNames: [String],
        cohort: ExportCohort? = nil
    ) {
        self.level = level
        self.types = types
        self.since = since
        self.typeFilters = typeFilters
        self.parameterNames = parameterNames
        self.cohort = cohort
    }

    /// Whose records the job's pages read. A Group-level request without its cohort reads none.
    public var patients: ExportPatients {
        switch self.level {
        case .system: .all
        case .patient: .filed
        case .group: .among(self.cohort?.patients ?? [])
        }
    }

    /// Reads a kick-off's query string (as sent: `_typeFilter` values are split on their
    /// unencoded commas before decoding, so a comma inside one query stays in it).
    ///
    /// - Parameters:
    ///   - readable: The types the caller's scopes let it read (nil: every type); a `_type`
    ///     naming another is refused (403), and without `_type` only these are exported.
    public init(level: Level, query: String, readable: Set<ResourceType>?) throws(ResourceError) {
        func invalid(_ message: String, _ parameter: String) -> ResourceError {
            ResourceError(.invalid, .invalid, message, expression: [parameter])
        }
        var requestedTypes: [ResourceType]?
        var since: Date?
        var filters: [String] = []
        var names: [String] = []
        for (position, pair) in query.split(separator: "&").enumerated() {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.flatMap({ SearchQuery.formDecoded($0) }), !name.isEmpty else {
                throw ResourceError(.invalid, .invalid, "parameter \(position + 1) of the query has an invalid percent-encoding")
            }
            let raw = parts.count > 1 ? parts[1] : ""
            if !names.contains(name) { names.append(name) }
            if name == "_typeFilter" {
                for piece in raw.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let filter = SearchQuery.formDecoded(piece), !filter.isEmpty else {
                        throw invalid("_typeFilter has an empty or invalid query", name)
                    }
                    filters.append(filter)
                }
                continue
            }
            guard let value = SearchQuery.formDecoded(raw) else { throw invalid("\(name) has an invalid percent-encoding", name) }
            switch name {
            case "_outputFormat":
                guard Self.outputFormats.contains(value) else {
                    throw invalid("_outputFormat \(value) is not offered: the hub writes \(Self.outputFormat)", name)
                }
            case "_since":
                guard since == nil else { throw invalid("_since is given once", name) }
                // An instant holds no space: one is a `+` of its offset a client did not encode.
                let instant = value.replacingOccurrences(of: " ", with: "+")
                guard instant.contains("T"), let range = FHIRDateRange(instant) else { throw invalid("_since must be a FHIR instant", name) }
                since = range.low
            case "_type":
                var types = requestedTypes ?? []
                for typeName in value.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let type = ResourceType(rawValue: String(typeName)) else {
                        throw invalid("_type names \(typeName.isEmpty ? "an empty type" : "\(typeName)"), which the hub does not store", name)
                    }
                    if !types.contains(type) { types.append(type) }
                }
                requestedTypes = types
            case "_format", "_pretty":
                break
            case "patient", "includeAssociatedData", "_elements":
                throw invalid("\(name) is not offered by this hub's $export (see its CapabilityStatement)", name)
            default:
                throw invalid("$export takes _outputFormat, _since, _type and _typeFilter (\(name) is not a parameter of it)", name)
            }
        }
        let eligible = ResourceType.allCases.filter { level == .system || Self.isInSomeCompartment($0) }
        let types: [ResourceType]
        if let requestedTypes {
            for type in requestedTypes {
                guard eligible.contains(type) else {
                    throw invalid(
                        "\(type.rawValue) is in no patient's compartment: a \(level == .group ? "Group" : "Patient")-level export does not hold it",
                        "_type")
                }
                guard readable?.contains(type) ?? true else {
                    throw ResourceError(.forbidden, .forbidden, "the caller's scopes do not allow reading \(type.rawValue) resources")
                }
            }
            types = requestedTypes
        } else {
            types = eligible.filter { readable?.contains($0) ?? true }
        }
        guard !types.isEmpty else {
            throw ResourceError(.forbidden, .forbidden, "the caller's scopes allow reading none of the types this export holds")
        }
        guard filters.count <= Self.maximumTypeFilters else {
            throw ResourceError(
                .invalid, .tooCostly, "an export takes at most \(Self.maximumTypeFilters) _typeFilter queries", expression: ["_typeFilter"])
        }
        var typeFilters: [ResourceType: [String]] = [:]
        for filter in filters {
            let (type, criteria) = try Self.typeFilter(filter)
            guard types.contains(type) else {
                throw invalid("_typeFilter names \(type.rawValue), which this export does not hold (see _type)", "_typeFilter")
            }
            typeFilters[type, default: []].append(criteria)
        }
        self.init(level: level, types: types, since: since, typeFilters: typeFilters, parameterNames: names)
        // Every filter must be a search the hub can run: refused now, not when the job reads.
        _ = try self.filterQueries()
    }

    /// The parsed `_typeFilter` queries of each type.
    public func filterQueries() throws(ResourceError) -> [ResourceType: [SearchQuery]] {
        var queries: [ResourceType: [SearchQuery]] = [:]
        for (type, criteria) in self.typeFilters {
            for text in criteria {
                let parameters = try SearchQuery.parameters(inQuery: text)
                if let result = parameters.first(where: { Self.resultParameters.contains($0.0.split(separator: ":").first.map(String.init) ?? "") }) {
                    throw ResourceError(
                        .invalid, .invalid, "_typeFilter takes search criteria only (\(result.0) is not one)", expression: ["_typeFilter"])
                }
                queries[type, default: []].append(try SearchQuery(type: type, parameters: parameters, lenient: false))
            }
        }
        return queries
    }

    /// `Observation?code=…` → (.observation, "code=…").
    static func typeFilter(_ text: String) throws(ResourceError) -> (ResourceType, String) {
        let parts = text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let type = ResourceType(rawValue: String(parts[0])), !parts[1].isEmpty else {
            throw ResourceError(.invalid, .invalid, "a _typeFilter is [type]?[criteria] of a type the hub stores", expression: ["_typeFilter"])
        }
        return (type, String(parts[1]))
    }

    /// Whether resources of `type` can be filed under a patient (the Patient itself included).
    static func isInSomeCompartment(_ type: ResourceType) -> Bool {
        type == .patient || !PatientCompartment.elements(of: type).isEmpty
    }
}
