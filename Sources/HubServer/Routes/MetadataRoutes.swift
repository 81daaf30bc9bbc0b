public import Foundation
public import HubConfig
import HubFHIR
import HubResources
public import Hummingbird

/// `GET /fhir/metadata`: the FHIR CapabilityStatement.
public struct MetadataRoutes<Context: RequestContext>: Sendable {
    let statement: CapabilityStatement

    /// - Parameters:
    ///   - startedAt: When this hub process started; the statement's `date`.
    ///   - mutualTLS: The client-certificate policy, described in `rest.security`.
    public init(startedAt: Date, mutualTLS: HubConfiguration.ClientAuthentication) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        self.statement = .hub(
            softwareVersion: HubVersion.current,
            fhirVersion: HubVersion.fhirVersion,
            baseURL: nil,
            date: formatter.string(from: startedAt),
            resources: ResourceType.allCases.map { type in
                CapabilityStatement.Resource(
                    type: type.rawValue,
                    interaction: FHIRResourceRoutes.interactions.map { CapabilityStatement.Interaction(code: $0) },
                    searchParam: [
                        CapabilityStatement.SearchParam(name: "_id", type: "token"),
                        CapabilityStatement.SearchParam(name: "_lastUpdated", type: "date"),
                    ] + type.searchParameters.map { CapabilityStatement.SearchParam(name: $0.name, type: $0.kind.rawValue) }
                )
            },
            systemInteractions: ["transaction", "batch", "history-system"],
            mutualTLS: mutualTLS.rawValue
        )
    }

    public func add(to router: Router<Context>) {
        router.get("fhir/metadata") { _, _ in
            Response.json(self.statement, contentType: HubMediaType.fhirJSON)
        }
    }
}
