import Foundation
public import HubFHIR

/// What a resource holds for a search parameter, as search compares it: the values at the
/// parameter's paths, the (system, code) pairs of a token, the range of a date. One reading,
/// for the store's index and any other store alike, so that a search means the same everywhere.
public enum SearchValues {
    /// The values at `parameter`'s paths in `resource`.
    public static func values(of resource: JSONObject, for parameter: SearchParameter) -> [JSONValue] {
        parameter.paths.flatMap { JSONValue.object(resource).values(at: $0.split(separator: ".").map(String.init)) }
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
