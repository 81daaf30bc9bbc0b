import Foundation
public import HubFHIR

/// What a resource holds for a search parameter, as search compares it: the values at the
/// parameter's paths, the (system, code) pairs of a token, the range of a date. One reading,
/// for the store's index and any other store alike, so that a search means the same everywhere.
public enum SearchValues {
    /// The values at `parameter`'s paths in `resource`.
    public static func values(of resource: JSONObject, for parameter: SearchParameter) -> [JSONValue] {
        guard parameter.kind != .composite else { return [] }
        return parameter.paths.flatMap { Self.values(of: [.object(resource)], at: $0.split(separator: ".")[...]) }
    }

    /// The values at a path whose steps may keep only entries with a given element value
    /// (`telecom[system=phone]`: R4's `telecom.where(system='phone')`).
    static func values(of values: [JSONValue], at steps: ArraySlice<Substring>) -> [JSONValue] {
        guard let step = steps.first else { return values }
        var name = step
        var filter: (key: String, value: String)?
        if let open = step.firstIndex(of: "["), step.hasSuffix("]"), let equals = step[open...].firstIndex(of: "=") {
            name = step[..<open]
            filter = (String(step[step.index(after: open)..<equals]), String(step[step.index(after: equals)..<step.index(before: step.endIndex)]))
        }
        let found = values.flatMap { $0.objectValue?[String(name)]?.elements ?? [] }
        let kept = filter.map { filter in found.filter { $0.objectValue?[filter.key]?.stringValue == filter.value } } ?? found
        return Self.values(of: kept, at: steps.dropFirst())
    }

    /// The pairs of a composite parameter's two components, each pair from within one of its
    /// elements (a code and the value beside it, never a code of one component with the value
    /// of another).
    public static func compositePairs(of resource: JSONObject, for parameter: SearchParameter) -> [(first: JSONValue, second: JSONValue)] {
        guard parameter.kind == .composite, parameter.components.count == 2 else { return [] }
        let root = JSONValue.object(resource)
        func reach(_ from: [JSONValue], _ path: String) -> [JSONValue] {
            path.isEmpty ? from : Self.values(of: from, at: path.split(separator: ".")[...])
        }
        var pairs: [(first: JSONValue, second: JSONValue)] = []
        for element in parameter.paths.flatMap({ reach([root], $0) }) {
            let firsts = parameter.components[0].paths.flatMap { reach([element], $0) }
            let seconds = parameter.components[1].paths.flatMap { reach([element], $0) }
            for first in firsts {
                for second in seconds { pairs.append((first, second)) }
            }
        }
        return pairs
    }

    /// A Quantity's value (its decimal text), system and code (or unit).
    public static func quantity(of value: JSONValue) -> (number: String, system: String, code: String)? {
        guard let quantity = value.objectValue, let number = quantity["value"]?.numberText else { return nil }
        return (number, quantity["system"]?.stringValue ?? "", quantity["code"]?.stringValue ?? quantity["unit"]?.stringValue ?? "")
    }

    /// (system, code) pairs of a code, Coding, CodeableConcept, Identifier or boolean.
    public static func tokens(of value: JSONValue) -> [(system: String, code: String)] {
        switch value {
        case .string(let code): return [("", code)]
        case .bool(let flag): return [("", flag ? "true" : "false")]
        case .object(let object):
            if let codings = object["coding"]?.arrayValue {
                return codings.flatMap { Self.tokens(of: $0) }
            }
            if let code = object["code"]?.stringValue {
                return [(object["system"]?.stringValue ?? "", code)]
            }
            if let identifierValue = object["value"]?.stringValue {
                return [(object["system"]?.stringValue ?? "", identifierValue)]
            }
            return []
        default: return []
        }
    }

    /// The range of a date, dateTime, instant or Period (open ends reach the far past or future).
    public static func dateRange(of value: JSONValue) -> FHIRDateRange? {
        if let text = value.stringValue { return FHIRDateRange(text) }
        guard let period = value.objectValue else { return nil }
        let start = period["start"]?.stringValue.flatMap { FHIRDateRange($0) }
        let end = period["end"]?.stringValue.flatMap { FHIRDateRange($0) }
        guard start != nil || end != nil else { return nil }
        return FHIRDateRange(low: start?.low ?? .distantPast, high: end?.high ?? .distantFuture)
    }
}
