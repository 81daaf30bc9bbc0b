/// A search parameter the hub indexes, as FHIR R4 defines it for the type (name, type, path).
///
/// The table in ``ResourceType/searchParameters`` (generated from R4's SearchParameter
/// definitions by `ops/gen/search-parameters`) drives indexing, query parsing and the
/// CapabilityStatement, so a parameter works everywhere or nowhere.
public struct SearchParameter: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case token, string, reference, date, quantity
        /// A URI matched whole (`_profile`): indexed as a token without a system.
        case uri
        /// Two values that sit in one element (`code-value-quantity`: a code and the value
        /// beside it), searched as `code$value` (R4 §3.1.1.4.9).
        case composite
    }

    /// A part of a composite parameter: its kind and its paths within each of the parameter's
    /// elements.
    public struct Component: Sendable, Equatable {
        public var kind: Kind
        public var paths: [String]

        public init(_ kind: Kind, _ paths: [String]) {
            self.kind = kind
            self.paths = paths
        }
    }

    public var name: String
    public var kind: Kind
    /// Element paths from the resource root (`name.family`, `effectiveDateTime`); choice types
    /// are listed one path per variant. A step may keep only some entries:
    /// `telecom[system=phone]` (``SearchValues``). For a composite: the elements its
    /// components are read in, `""` being the resource itself.
    public var paths: [String]
    /// For composites: the first (a token) and the second component.
    public var components: [Component]
    /// R4's canonical URL of the definition (nil for the hub's own).
    public var definition: String?
    /// For references: the target types this parameter accepts (nil: any).
    public var targets: [String]?
    /// For tokens: whether values are identifying (identifier values) and indexed only blind.
    public var isBlind: Bool
    /// A hub-defined reference to the organization that published the resource (wrote its
    /// first version): what a Slot or Schedule does not say itself. Matched against the stored
    /// row, not indexed from paths.
    public var isPublisher: Bool = false
    /// For strings: whether substrings are indexed too, for `:contains` (names). Other strings
    /// keep their prefixes and whole value only, so an address does not cost hundreds of rows.
    public var indexesSubstrings: Bool

    public init(
        _ name: String, _ kind: Kind, _ paths: [String], targets: [String]? = nil, isBlind: Bool = false, indexesSubstrings: Bool = false,
        components: [Component] = [], definition: String? = nil
    ) {
        self.definition = definition
        self.name = name
        self.kind = kind
        self.paths = paths
        self.components = components
        self.targets = targets
        self.isBlind = isBlind
        self.indexesSubstrings = indexesSubstrings
    }

    /// `organization` on resources that do not name their organization: the publisher's.
    public static let publisher: SearchParameter = {
        var parameter = SearchParameter("organization", .reference, [], targets: ["Organization"])
        parameter.isPublisher = true
        return parameter
    }()
}

extension ResourceType {
    /// The search parameters indexed for this type (beyond `_id` and `_lastUpdated`, which are
    /// columns of the record): every one R4 defines that the hub can index
    /// (``r4SearchParameters``), and the publisher's `organization` on Schedule and Slot.
    public var searchParameters: [SearchParameter] {
        Self.parameterTable[self] ?? []
    }

    public func searchParameter(named name: String) -> SearchParameter? {
        Self.parameterIndex[self]?[name]
    }

    /// Computed once: the table is read for every record indexed and every search parsed.
    private static let parameterTable: [ResourceType: [SearchParameter]] = Dictionary(
        uniqueKeysWithValues: allCases.map { type in
            let hub: [SearchParameter] = [.schedule, .slot].contains(type) ? [.publisher] : []
            return (type, type.r4SearchParameters + hub)
        })

    private static let parameterIndex: [ResourceType: [String: SearchParameter]] = parameterTable.mapValues { parameters in
        Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
