import Foundation
public import HubFHIR
public import HubResourcesCore

/// A Subscription's `criteria` (FHIR R4: a search URL, `Task?owner=Organization/b`), checked
/// once when the Subscription is written and evaluated by the store's own search for each
/// candidate resource, so that a criterion means exactly what the same search means.
public struct SubscriptionCriteria: Sendable, Equatable {
    /// The types a hospital may subscribe to: the cross-hospital workflows' resources.
    public static let watchedTypes: Set<ResourceType> = [.task, .serviceRequest, .appointment, .diagnosticReport]

    /// Parameters that shape a result page rather than select resources.
    static let pagingParameters: Set<String> = ["_include", "_revinclude", "_sort", "_count", "_elements", "_summary", "_total", "_id"]

    public var type: ResourceType
    /// Search parameters, percent-decoded, in the order given.
    public var parameters: [(String, String)]

    /// Parses and checks `text`; errors are 422s naming `Subscription.criteria`.
    public init(_ text: String) throws(ResourceError) {
        let (path, query) = Self.split(text)
        guard let type = ResourceType(rawValue: path), Self.watchedTypes.contains(type) else {
            throw Self.error(
                "the criteria must search one of \(Self.watchedTypes.map(\.rawValue).sorted().joined(separator: ", ")), as Type?parameters")
        }
        var parameters: [(String, String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, let name = String(pair[0]).removingPercentEncoding, let value = String(pair[1]).removingPercentEncoding else {
                throw Self.error("'\(item)' is not a search parameter (name=value, percent-encoded)")
            }
            let base = name.split(separator: ":").first.map(String.init) ?? name
            guard !Self.pagingParameters.contains(base) else {
                throw Self.error("\(base) does not select resources and cannot be part of a subscription's criteria")
            }
            parameters.append((name, value))
        }
        self.type = type
        self.parameters = parameters
        // The store's own parser decides what is a valid search, so that every criterion the
        // hub accepts can be evaluated.
        do {
            _ = try SearchQuery(type: type, parameters: parameters, lenient: false)
        } catch {
            throw Self.error("the criteria are not a search the hub supports: \(error.diagnostics)")
        }
    }

    /// The search that finds resource `id` if, and only if, it meets the criteria.
    public func query(for id: String) throws(ResourceError) -> SearchQuery {
        try SearchQuery(type: self.type, parameters: self.parameters + [("_id", id), ("_count", "1")], lenient: false)
    }

    static func split(_ text: String) -> (path: String, query: String) {
        guard let mark = text.firstIndex(of: "?") else { return (text, "") }
        return (String(text[..<mark]), String(text[text.index(after: mark)...]))
    }

    static func error(_ message: String) -> ResourceError {
        ResourceError(.unprocessable, .value, message, expression: ["Subscription.criteria"])
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.type == rhs.type && lhs.parameters.elementsEqual(rhs.parameters) { $0 == $1 }
    }
}
