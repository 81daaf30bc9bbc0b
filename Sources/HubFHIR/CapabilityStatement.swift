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
    }

    public struct Security: Codable, Sendable, Equatable {
        public var cors: Bool
        public var description: String
    }

    public struct Resource: Codable, Sendable, Equatable {
        public var type: String
        public var interaction: [Interaction]
        public var searchParam: [SearchParam]?

        public init(type: String, interaction: [Interaction], searchParam: [SearchParam]? = nil) {
            self.type = type
            self.interaction = interaction
            self.searchParam = searchParam
        }
    }

    public struct SearchParam: Codable, Sendable, Equatable {
        public var name: String
        public var type: String

        public init(name: String, type: String) {
            self.name = name
            self.type = type
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
            format: ["application/fhir+json", "json"],
            rest: [
                Rest(
                    mode: "server",
                    documentation: "HTTPS only (TLS 1.2 or later).",
                    security: Security(
                        cors: false,
                        description: "TLS with server certificate; client certificates: \(mutualTLS)."
                    ),
                    resource: resources.isEmpty ? nil : resources,
                    interaction: systemInteractions.isEmpty ? nil : systemInteractions.map { Interaction(code: $0) }
                )
            ]
        )
    }
}
