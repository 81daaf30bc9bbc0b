public import HubFHIR

/// `_summary` (FHIR R4 §3.1.1.5.8) other than `count`: which part of each resource to return.
public enum ResourceSummary: String, Sendable, Equatable {
    /// The elements R4 marks as summary (``ResourceType/r4SummaryElements``, generated from the
    /// specification's flags by `ops/gen/summary-elements`).
    case `true`
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
                "_summary=\(value) is not supported: _summary takes true, text, data, false or count",
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
    public func apply(to resource: JSONObject, type: ResourceType, mandatory: Set<String>) -> JSONObject {
        switch self {
        case .false:
            return resource
        case .true:
            return Self.summaryElements(of: resource, type.r4SummaryElements)
        case .data:
            return Self.subsetted(resource) { $0 != "text" }
        case .text:
            let keep = mandatory.union(["resourceType", "id", "meta", "text"])
            return Self.subsetted(resource) { keep.contains($0) }
        }
    }

    /// The summary elements of `resource`: each top-level member `paths` names; inside one
    /// whose children `paths` names too (`component.code`), only those children — an element of
    /// a data type (a name, a Coding) whole.
    static func summaryElements(of resource: JSONObject, _ paths: Set<String>) -> JSONObject {
        func keep(_ object: JSONObject, under prefix: String) -> JSONObject {
            var kept: [(String, JSONValue)] = []
            for member in object.members {
                let (key, value) = (member.key, member.value)
                let name = key.hasPrefix("_") ? String(key.dropFirst()) : key
                let path = prefix + name
                guard paths.contains(path) else { continue }
                let children = path + "."
                guard paths.contains(where: { $0.hasPrefix(children) }) else {
                    kept.append((key, value))
                    continue
                }
                func trimmed(_ value: JSONValue) -> JSONValue {
                    switch value {
                    case .object(let inner): .object(keep(inner, under: children))
                    case .array(let items): .array(items.map(trimmed))
                    default: value
                    }
                }
                kept.append((key, trimmed(value)))
            }
            return JSONObject(kept)
        }
        let top = keep(resource, under: "")
        var subset = Self.subsetted(resource) { top[$0] != nil }
        for member in top.members { subset[member.key] = member.value }
        return subset
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
