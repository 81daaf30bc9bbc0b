public import HubFHIR

/// `_summary` (FHIR R4 §3.1.1.5.8) other than `count`: which part of each resource to return.
///
/// `true` is refused: it needs the specification's "summary" flags, which the structure tables
/// (generated from `fhir.resources`) do not carry. Better a 400 than a guess at which elements
/// a client may rely on.
public enum ResourceSummary: String, Sendable, Equatable {
    /// Only `text`, `id`, `meta` and the top-level mandatory elements.
    case text
    /// Everything but `text`.
    case data
    /// Everything (the default, said explicitly).
    case `false`

    public init(parameter value: String) throws(ResourceError) {
        guard let summary = ResourceSummary(rawValue: value) else {
            throw ResourceError(
                .invalid, .notSupported,
                "_summary=\(value) is not supported: _summary takes text, data, false or count (true needs summary flags this server does not have)",
                expression: ["_summary"])
        }
        self = summary
    }

    /// The tag of a resource returned in part (R4 §3.1.1.5.9): never stored (``ResourceValidator``
    /// refuses a write carrying it), so that a part is never written back as the whole.
    public static let subsettedTag = (system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", code: "SUBSETTED")

    static func isSubsettedTag(_ coding: JSONObject) -> Bool {
        coding["system"]?.stringValue == Self.subsettedTag.system && coding["code"]?.stringValue == Self.subsettedTag.code
    }

    /// `resource` as the summary returns it: subsetted ones tagged SUBSETTED (R4 §3.1.1.5.9).
    /// `mandatory` is the type's top-level mandatory elements (``ResourceValidator/mandatoryElements(of:)``).
    public func apply(to resource: JSONObject, mandatory: Set<String>) -> JSONObject {
        switch self {
        case .false:
            return resource
        case .data:
            return Self.subsetted(resource) { $0 != "text" }
        case .text:
            let keep = mandatory.union(["resourceType", "id", "meta", "text"])
            return Self.subsetted(resource) { keep.contains($0) }
        }
    }

    /// The members whose names `keeping` accepts (with a primitive's `_name` extension member),
    /// `resourceType`, `id` and `meta` always, and the SUBSETTED tag.
    public static func subsetted(_ resource: JSONObject, keeping: (String) -> Bool) -> JSONObject {
        func kept(_ key: String) -> Bool {
            ["resourceType", "id", "meta"].contains(key) || keeping(key) || (key.hasPrefix("_") && keeping(String(key.dropFirst())))
        }
        var subset = JSONObject(resource.members.filter { kept($0.key) }.map { ($0.key, $0.value) })
        var meta = subset["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        if !tags.contains(where: { $0.objectValue.map(Self.isSubsettedTag) ?? false }) {
            tags.append(.object(JSONObject([("system", .string(Self.subsettedTag.system)), ("code", .string(Self.subsettedTag.code))])))
        }
        meta["tag"] = .array(tags)
        subset["meta"] = .object(meta)
        return subset
    }
}
