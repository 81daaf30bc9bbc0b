import Foundation
public import HubFHIR
public import HubResources
public import HubWorkflows

/// A search answered as a searchset Bundle: for `GET /fhir/{type}` and for a Bundle's GET
/// search entries alike, so that both flag, summarise and page the same way.
public struct SearchAnswer: BundleSearching {
    let store: any ResourceStore
    let recognition: MutualRecognitionPolicy
    /// For `_summary=text`: each type's mandatory elements.
    let validator: ResourceValidator?

    public init(store: any ResourceStore, recognition: MutualRecognitionPolicy, validator: ResourceValidator?) {
        self.store = store
        self.recognition = recognition
        self.validator = validator
    }

    public func searchset(
        _ type: ResourceType, parameters: [(String, String)], base: String, access: RecordAccess
    ) async throws -> (bundle: JSONObject, returned: [StoredResource]) {
        try await self.searchset(type, parameters: parameters, lenient: false, base: base, access: access)
    }

    /// The searchset, and what it returns (for the audit trail). Observations carry the
    /// mutual-recognition tag where the policy recognises them.
    func searchset(
        _ type: ResourceType, parameters: [(String, String)], lenient: Bool, base: String, access: RecordAccess
    ) async throws -> (bundle: JSONObject, returned: [StoredResource]) {
        let query = try SearchQuery(type: type, parameters: parameters, lenient: lenient)
        var result = try await self.store.search(query, access: access)
        if type == .observation {
            let now = Date()
            result.resources = result.resources.map { self.recognition.flagged($0, at: now) }
        }
        if let summary = query.summary {
            // Included resources too, each by its own type's mandatory elements.
            func summarised(_ stored: StoredResource) -> StoredResource {
                var copy = stored
                let mandatory = self.validator?.mandatoryElements(of: stored.type) ?? []
                copy.resource = stored.resource.map { summary.apply(to: $0, type: stored.type, mandatory: mandatory) }
                return copy
            }
            result.resources = result.resources.map(summarised)
            result.included = result.included.map(summarised)
        }
        return (FHIRSearchRoutes.bundle(result, query: query, base: base), result.resources + result.included)
    }
}
