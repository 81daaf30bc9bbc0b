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
            resources: ResourceType.allCases.map(Self.resource) + [Self.auditEvent],
            systemInteractions: ["transaction", "batch", "history-system"],
            mutualTLS: mutualTLS.rawValue
        )
    }

    /// What the hub does with one type: exactly the routes, parameters and modifiers it serves.
    static func resource(_ type: ResourceType) -> CapabilityStatement.Resource {
        var resource = CapabilityStatement.Resource(
            type: type.rawValue,
            interaction: FHIRResourceRoutes.interactions.map { CapabilityStatement.Interaction(code: $0) },
            searchParam: [
                CapabilityStatement.SearchParam(name: "_id", type: "token", definition: "http://hl7.org/fhir/SearchParameter/Resource-id"),
                CapabilityStatement.SearchParam(
                    name: "_lastUpdated",
                    type: "date",
                    definition: "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
                    documentation: Self.modifiers[.date]
                ),
            ]
                + type.searchParameters.map { parameter in
                    CapabilityStatement.SearchParam(
                        name: parameter.name, type: parameter.kind.rawValue,
                        definition: parameter.definition,
                        documentation: parameter.isPublisher
                            ? "Hub-defined: the organization that published the resource (Organization/id); chainable, e.g. Appointment?slot.organization="
                            : Self.documentation(parameter)
                    )
                }
        )
        resource.versioning = "versioned"
        resource.readHistory = true
        resource.updateCreate = false
        resource.conditionalCreate = true
        resource.conditionalRead = "full-support"
        resource.conditionalUpdate = true
        resource.conditionalDelete = "single"
        let references = type.searchParameters.filter { $0.kind == .reference && !$0.isPublisher }
        resource.searchInclude = references.isEmpty ? nil : references.map { "\(type.rawValue):\($0.name)" }
        let referrers = ResourceType.allCases.flatMap { source in
            source.searchParameters
                .filter { $0.kind == .reference && !$0.isPublisher && ($0.targets?.contains(type.rawValue) ?? true) }
                .map { "\(source.rawValue):\($0.name)" }
        }
        resource.searchRevInclude = referrers.isEmpty ? nil : referrers
        // Every type: $validate (ValidateOperation).
        resource.operation = [
            .init(name: "validate", definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate"),
            .init(name: "meta", definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta"),
            .init(name: "meta-add", definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta-add"),
            .init(name: "meta-delete", definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta-delete"),
        ]
        if type == .patient {
            resource.operation?.insert(.init(name: "everything", definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"), at: 0)
            resource.operation?.insert(.init(name: "match", definition: "http://hl7.org/fhir/OperationDefinition/Patient-match"), at: 1)
            resource.operation?.insert(.init(name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"), at: 2)
        }
        if type == .subscription {
            resource.documentation =
                "rest-hook channels over HTTPS; criteria on Task, ServiceRequest, Appointment or DiagnosticReport, "
                + "evaluated with the subscriber's access; payload application/fhir+json is an id-only notification Bundle "
                + "(after the Subscriptions R5 Backport's R4 shape), none is an empty POST. Delivery is at-least-once with back-off; "
                + "given-up notifications are listed at GET /notifications?state=dead. See docs/workflows.md."
        }
        if type == .group {
            resource.operation?.insert(.init(name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"), at: 0)
            resource.documentation =
                "A hospital's cohort: private to the organization that wrote it. Group/[id]/$export exports its member patients' records "
                + "(member.entity Patient references, not inactive, period holding), as far as the caller may see them. See docs/bulk-data.md."
        }
        if type == .observation {
            resource.operation?.insert(.init(name: "lastn", definition: "http://hl7.org/fhir/OperationDefinition/Observation-lastn"), at: 0)
        }
        return resource
    }

    /// The audit trail, read-only, for regulators (``AuditEventRoutes``).
    static var auditEvent: CapabilityStatement.Resource {
        var resource = CapabilityStatement.Resource(
            type: "AuditEvent",
            interaction: [CapabilityStatement.Interaction(code: "read"), CapabilityStatement.Interaction(code: "search-type")],
            searchParam: [
                .init(name: "patient", type: "reference", definition: "http://hl7.org/fhir/SearchParameter/AuditEvent-patient"),
                .init(
                    name: "agent", type: "reference", definition: "http://hl7.org/fhir/SearchParameter/AuditEvent-agent",
                    documentation: "the hub's id of the requesting client"),
                .init(
                    name: "date", type: "date", definition: "http://hl7.org/fhir/SearchParameter/AuditEvent-date", documentation: "prefixes ge and lt"
                ),
                .init(name: "organization", type: "token", documentation: "the hub's id of the requesting organization"),
            ]
        )
        resource.versioning = "no-version"
        resource.readHistory = false
        resource.updateCreate = false
        resource.conditionalCreate = false
        return resource
    }

    /// The modifiers and prefixes each kind of parameter takes here (SearchQuery).
    static var modifiers: [SearchParameter.Kind: String] {
        [
            .token: "system|code, code, system|; modifier :not",
            .string: "starts-with, case- and accent-insensitive; modifier :exact",
            .reference: "Type/id or id; chains of up to three links (param:Type.param or param.param)",
            .date: "prefixes eq ne gt lt ge le sa eb ap, at the value's precision",
            .quantity: "[prefix]number[|system|code], at the number's precision; prefixes eq ne gt lt ge le sa eb ap",
            .uri: "the whole URI (a canonical with its |version); no modifiers",
            .composite: "code$value (system|code$…), both found in one element; the value as its kind compares",
        ]
    }

    static func documentation(_ parameter: SearchParameter) -> String? {
        let forms =
            parameter.kind == .string && parameter.indexesSubstrings
            ? "starts-with, case- and accent-insensitive; modifiers :exact, :contains (at least 2 characters)" : Self.modifiers[parameter.kind]
        return forms.map { $0 + "; :missing=true|false" }
    }

    public func add(to router: Router<Context>) {
        router.get("fhir/metadata") { request, _ in
            _ = try FHIRFormat(request: request)  // 406 for a format the hub does not write
            return Response.json(self.statement, contentType: HubMediaType.fhirJSON)
        }
    }
}
