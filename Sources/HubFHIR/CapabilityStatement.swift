/// FHIR R4 `CapabilityStatement`, the answer to `GET /fhir/metadata`.
///
/// It must describe what the server really does: resources appear in `rest.resource` only
/// once the hub serves them, so clients that read it are never promised more than exists.
public struct CapabilityStatement: Codable, Sendable, Equatable {
    public var resourceType: String = "CapabilityStatement"
    public var status: String
    public var date: String
    public var publisher: String?
    public var kind: String
    public var software: Software
    public var implementation: Implementation
    public var fhirVersion: String
    public var format: [String]
    public var rest: [Rest]

    public struct Software: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

    public struct Implementation: Codable, Sendable, Equatable {
        public var description: String
        public var url: String?
    }

    public struct Rest: Codable, Sendable, Equatable {
        public var mode: String
        public var documentation: String?
        public var security: Security?
        public var resource: [Resource]?
        public var interaction: [Interaction]?
        /// Operations on the whole server (`$export`).
        public var operation: [Operation]?
    }

    public struct Security: Codable, Sendable, Equatable {
        public var cors: Bool
        public var service: [Service]?
        public var description: String
    }

    /// A `CodeableConcept` of restful-security-service.
    public struct Service: Codable, Sendable, Equatable {
        public struct Coding: Codable, Sendable, Equatable {
            public var system: String
            public var code: String
        }

        public var coding: [Coding]
        public var text: String?
    }

    public struct Resource: Codable, Sendable, Equatable {
        public var type: String
        /// What this server does with the type beyond the interactions (markdown).
        public var documentation: String?
        public var interaction: [Interaction]
        public var versioning: String?
        public var readHistory: Bool?
        public var updateCreate: Bool?
        public var conditionalCreate: Bool?
        public var conditionalRead: String?
        public var conditionalUpdate: Bool?
        public var conditionalDelete: String?
        public var searchInclude: [String]?
        public var searchRevInclude: [String]?
        public var searchParam: [SearchParam]?
        public var operation: [Operation]?

        public init(type: String, interaction: [Interaction], searchParam: [SearchParam]? = nil) {
            self.type = type
            self.interaction = interaction
            self.searchParam = searchParam
        }
    }

    public struct SearchParam: Codable, Sendable, Equatable {
        public var name: String
        public var definition: String?
        public var type: String
        public var documentation: String?

        public init(name: String, type: String, definition: String? = nil, documentation: String? = nil) {
            self.name = name
            self.definition = definition
            self.type = type
            self.documentation = documentation
        }
    }

    public struct Operation: Codable, Sendable, Equatable {
        public var name: String
        public var definition: String

        public init(name: String, definition: String) {
            self.name = name
            self.definition = definition
        }
    }

    public struct Interaction: Codable, Sendable, Equatable {
        public var code: String

        public init(code: String) {
            self.code = code
        }
    }

    /// The statement for this hub.
    ///
    /// - Parameters:
    ///   - softwareVersion: The hub's release.
    ///   - fhirVersion: The FHIR release implemented (4.0.1).
    ///   - baseURL: The FHIR base the statement is served from, when known.
    ///   - date: When this build's capabilities were declared (FHIR `dateTime`).
    ///   - resources: The resource types served, with their interactions; empty until the
    ///     resource store exists.
    ///   - mutualTLS: Whether client certificates are requested, for the security description.
    public static func hub(
        softwareVersion: String,
        fhirVersion: String,
        baseURL: String?,
        date: String,
        resources: [Resource],
        systemInteractions: [String] = [],
        mutualTLS: String
    ) -> CapabilityStatement {
        CapabilityStatement(
            status: "active",
            date: date,
            publisher: "health-records hub",
            kind: "instance",
            software: Software(name: "health-records-hub", version: softwareVersion),
            implementation: Implementation(description: "Regional health-records interoperability hub", url: baseURL),
            fhirVersion: fhirVersion,
            format: ["application/fhir+json", "json", "application/fhir+xml", "xml"],
            rest: [
                Rest(
                    mode: "server",
                    documentation: "HTTPS only (TLS 1.2 or later).",
                    security: Security(
                        cors: false,
                        service: [
                            Service(
                                coding: [.init(system: "http://terminology.hl7.org/CodeSystem/restful-security-service", code: "SMART-on-FHIR")],
                                text: "SMART Backend Services: POST /auth/token (client_credentials, private_key_jwt with ES256 or SM2SM3)"
                            )
                        ],
                        description:
                            "TLS with server certificate; client certificates: \(mutualTLS). Hospital systems authenticate with a registered client certificate or a bearer token; access needs SMART scopes and a care relationship or consent with the patient (docs/security.md). AuditEvent: regulators only."
                    ),
                    resource: resources.isEmpty ? nil : resources,
                    interaction: systemInteractions.isEmpty ? nil : systemInteractions.map { Interaction(code: $0) },
                    operation: [
                        Operation(name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"),
                        // The Bulk Data Import proposal's operation (not yet in a published IG).
                        Operation(name: "import", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import"),
                    ]
                )
            ]
        )
    }
}
