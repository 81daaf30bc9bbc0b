/// A search parameter the hub indexes, as FHIR R4 defines it for the type (name, type, path).
///
/// The table in ``ResourceType/searchParameters`` drives indexing, query parsing and the
/// CapabilityStatement, so a parameter works everywhere or nowhere.
public struct SearchParameter: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case token, string, reference, date, quantity
        /// A URI matched whole (`_profile`): indexed as a token without a system.
        case uri
    }

    public var name: String
    public var kind: Kind
    /// Element paths from the resource root (`name.family`, `effectiveDateTime`); choice types
    /// are listed one path per variant.
    public var paths: [String]
    /// For references: the target types this parameter accepts (nil: any).
    public var targets: [String]?
    /// For tokens: whether values are identifying (identifier values) and indexed only blind.
    public var isBlind: Bool
    /// A hub-defined reference to the organization that published the resource (wrote its
    /// first version): what a Slot or Schedule does not say itself. Matched against the stored
    /// row, not indexed from paths.
    public var isPublisher: Bool = false

    public init(_ name: String, _ kind: Kind, _ paths: [String], targets: [String]? = nil, isBlind: Bool = false) {
        self.name = name
        self.kind = kind
        self.paths = paths
        self.targets = targets
        self.isBlind = isBlind
    }

    /// `organization` on resources that do not name their organization: the publisher's.
    public static let publisher: SearchParameter = {
        var parameter = SearchParameter("organization", .reference, [], targets: ["Organization"])
        parameter.isPublisher = true
        return parameter
    }()
}

extension ResourceType {
    /// The search parameters indexed for this type (beyond `_id` and `_lastUpdated`): its own,
    /// and the common ones of every resource on its `meta` (`_tag`, `_security`, `_profile`).
    public var searchParameters: [SearchParameter] {
        self.ownSearchParameters + [
            SearchParameter("_tag", .token, ["meta.tag"]), SearchParameter("_security", .token, ["meta.security"]),
            SearchParameter("_profile", .uri, ["meta.profile"]),
        ]
    }

    private var ownSearchParameters: [SearchParameter] {
        typealias P = SearchParameter
        let identifier = P("identifier", .token, ["identifier"], isBlind: true)
        func subjectAndPatient(_ path: String) -> [P] {
            [P("subject", .reference, [path]), P("patient", .reference, [path], targets: ["Patient"])]
        }
        let encounter = P("encounter", .reference, ["encounter"], targets: ["Encounter"])
        let status = P("status", .token, ["status"])
        switch self {
        case .patient:
            return [
                identifier,
                P("name", .string, ["name.family", "name.given", "name.text"]),
                P("family", .string, ["name.family"]),
                P("given", .string, ["name.given"]),
                P("gender", .token, ["gender"]),
                P("birthdate", .date, ["birthDate"]),
                P("organization", .reference, ["managingOrganization"], targets: ["Organization"]),
                P("general-practitioner", .reference, ["generalPractitioner"]),
            ]
        case .practitioner:
            return [identifier, P("name", .string, ["name.family", "name.given", "name.text"])]
        case .practitionerRole:
            return [
                identifier, P("practitioner", .reference, ["practitioner"], targets: ["Practitioner"]),
                P("organization", .reference, ["organization"], targets: ["Organization"]),
                P("specialty", .token, ["specialty"]),
                P("role", .token, ["code"]),
            ]
        case .organization:
            return [P("identifier", .token, ["identifier"]), P("name", .string, ["name", "alias"]), P("type", .token, ["type"])]
        case .encounter:
            return subjectAndPatient("subject") + [
                identifier, status, P("class", .token, ["class"]), P("type", .token, ["type"]), P("date", .date, ["period"]),
                P("service-provider", .reference, ["serviceProvider"], targets: ["Organization"]),
                P("participant", .reference, ["participant.individual"]),
            ]
        case .condition:
            return subjectAndPatient("subject") + [
                identifier, P("code", .token, ["code"]), P("category", .token, ["category"]),
                P("clinical-status", .token, ["clinicalStatus"]), P("onset-date", .date, ["onsetDateTime", "onsetPeriod"]),
                encounter,
            ]
        case .procedure:
            return subjectAndPatient("subject") + [
                identifier, P("code", .token, ["code"]), status, P("date", .date, ["performedDateTime", "performedPeriod"]), encounter,
            ]
        case .allergyIntolerance:
            return [
                identifier, P("patient", .reference, ["patient"], targets: ["Patient"]), P("code", .token, ["code"]),
                P("clinical-status", .token, ["clinicalStatus"]),
            ]
        case .medicationRequest:
            return subjectAndPatient("subject") + [
                identifier, status, P("intent", .token, ["intent"]), P("code", .token, ["medicationCodeableConcept"]),
                P("authoredon", .date, ["authoredOn"]), encounter, P("requester", .reference, ["requester"]),
            ]
        case .observation:
            return subjectAndPatient("subject") + [
                identifier, P("code", .token, ["code"]), P("category", .token, ["category"]), status,
                P("date", .date, ["effectiveDateTime", "effectivePeriod", "effectiveInstant"]), encounter,
                P("performer", .reference, ["performer"]), P("based-on", .reference, ["basedOn"]),
                P("value-quantity", .quantity, ["valueQuantity"]),
                P("component-code", .token, ["component.code"]),
                P("component-value-quantity", .quantity, ["component.valueQuantity"]),
            ]
        case .diagnosticReport:
            return subjectAndPatient("subject") + [
                identifier,
                P("code", .token, ["code"]), P("category", .token, ["category"]), status,
                P("date", .date, ["effectiveDateTime", "effectivePeriod"]), encounter,
                P("performer", .reference, ["performer"]), P("result", .reference, ["result"], targets: ["Observation"]),
                P("based-on", .reference, ["basedOn"]),
            ]
        case .documentReference:
            return subjectAndPatient("subject") + [
                P("identifier", .token, ["masterIdentifier", "identifier"], isBlind: true), P("type", .token, ["type"]),
                P("category", .token, ["category"]), status, P("date", .date, ["date"]),
            ]
        case .composition:
            return subjectAndPatient("subject") + [identifier, P("type", .token, ["type"]), status, P("date", .date, ["date"]), encounter]
        case .appointment:
            return [
                identifier, P("patient", .reference, ["participant.actor"], targets: ["Patient"]),
                P("actor", .reference, ["participant.actor"]), status, P("date", .date, ["start"]),
                P("service-type", .token, ["serviceType"]), P("slot", .reference, ["slot"], targets: ["Slot"]),
            ]
        case .schedule:
            return [
                identifier, P("actor", .reference, ["actor"]), P("service-type", .token, ["serviceType"]), P("active", .token, ["active"]),
                P("specialty", .token, ["specialty"]), P("date", .date, ["planningHorizon"]), .publisher,
            ]
        case .slot:
            return [
                identifier, P("schedule", .reference, ["schedule"], targets: ["Schedule"]), status, P("start", .date, ["start"]),
                P("service-type", .token, ["serviceType"]), P("specialty", .token, ["specialty"]),
                P("appointment-type", .token, ["appointmentType"]), .publisher,
            ]
        case .serviceRequest:
            return subjectAndPatient("subject") + [
                identifier, status, P("intent", .token, ["intent"]), P("category", .token, ["category"]), P("code", .token, ["code"]),
                P("requester", .reference, ["requester"]), P("performer", .reference, ["performer"]),
                P("authored", .date, ["authoredOn"]),
            ]
        case .task:
            return [
                identifier, P("patient", .reference, ["for"], targets: ["Patient"]), status, P("intent", .token, ["intent"]),
                P("owner", .reference, ["owner"]), P("requester", .reference, ["requester"]),
                P("based-on", .reference, ["basedOn"]), P("focus", .reference, ["focus"]), P("code", .token, ["code"]),
                P("authored-on", .date, ["authoredOn"]),
            ]
        case .consent:
            return [
                identifier, P("patient", .reference, ["patient"], targets: ["Patient"]), status, P("category", .token, ["category"]),
                P("date", .date, ["dateTime"]),
            ]
        case .provenance:
            return [P("target", .reference, ["target"]), P("agent", .reference, ["agent.who"]), P("recorded", .date, ["recorded"])]
        case .subscription:
            return [status, P("type", .token, ["channel.type"])]
        }
    }

    public func searchParameter(named name: String) -> SearchParameter? {
        self.searchParameters.first { $0.name == name }
    }
}
