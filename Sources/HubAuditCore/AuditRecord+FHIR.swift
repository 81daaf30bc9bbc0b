public import HubFHIR

extension AuditRecord {
    /// The extension on each AuditEvent that names its leaf in the audit log, so that a reader
    /// can ask for its inclusion proof.
    public static let logIndexExtension = "urn:health-hub:audit-log-index"

    /// The record as a FHIR R4 AuditEvent (shaped after IHE BALP): the caller as the requesting
    /// agent (and the person, if any, as a second agent), the patient and every resource as
    /// entities, the purpose of use, and the leaf index as an extension.
    public func fhirAuditEvent(logIndex: Int) -> JSONObject {
        let restful = !self.interaction.hasPrefix("audit-")
        var event = JSONObject([
            ("resourceType", .string("AuditEvent")),
            ("id", .string(self.id)),
            ("extension", .array([.object(JSONObject([("url", .string(Self.logIndexExtension)), ("valueInteger", .number(String(logIndex)))]))])),
            (
                "type",
                Self.coding(
                    "http://terminology.hl7.org/CodeSystem/audit-event-type", restful ? "rest" : "export", restful ? "RESTful Operation" : "Export")
            ),
            (
                "subtype",
                .array([Self.coding(restful ? "http://hl7.org/fhir/restful-interaction" : "urn:health-hub:audit-interaction", self.interaction, nil)])
            ),
            ("action", .string(self.action.rawValue)),
            ("recorded", .string(UTCTime(self.time).instant)),
            ("outcome", .string(String(self.outcome.rawValue))),
        ])
        if self.outcome != .success {
            event["outcomeDesc"] = .string([self.issue?.rawValue, self.status.map { "HTTP \($0)" }].compactMap { $0 }.joined(separator: ", "))
        }
        var purpose = [
            JSONValue.object(
                JSONObject([("coding", .array([Self.coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", self.caller.purposeOfUse, nil)]))]))
        ]
        if let reason = self.caller.breakGlassReason {
            purpose.append(.object(JSONObject([("text", .string("break-glass: " + reason))])))
        }
        event["purposeOfEvent"] = .array(purpose)

        var agents: [JSONValue] = []
        var system = JSONObject([
            (
                "type",
                .object(
                    JSONObject([
                        (
                            "coding",
                            .array([Self.coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "datacollector", "datacollector")])
                        )
                    ]))
            ),
            ("who", Self.identified("urn:health-hub:client", self.caller.client ?? "unauthenticated")),
            ("requestor", .bool(self.caller.user == nil)),
        ])
        if let organization = self.caller.organization {
            system["altId"] = .string(organization)
        }
        if let address = self.caller.address {
            system["network"] = .object(JSONObject([("address", .string(address)), ("type", .string("2"))]))
        }
        agents.append(.object(system))
        if let user = self.caller.user {
            agents.append(
                .object(
                    JSONObject([
                        (
                            "type",
                            .object(
                                JSONObject([
                                    (
                                        "coding",
                                        .array([
                                            Self.coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")
                                        ])
                                    )
                                ]))
                        ),
                        ("who", Self.identified("urn:health-hub:user", user)),
                        ("requestor", .bool(true)),
                    ])))
        }
        event["agent"] = .array(agents)
        event["source"] = .object(
            JSONObject([
                ("observer", .object(JSONObject([("display", .string("health-records hub"))]))),
                ("type", .array([Self.coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")])),
            ]))

        var entities: [JSONValue] = []
        if let patient = self.patient {
            entities.append(Self.entity("Patient/\(patient)", type: "1", role: "1"))
        }
        for reference in self.entities {
            entities.append(Self.entity(reference, type: "2", role: "4"))
        }
        if !self.parameters.isEmpty {
            entities.append(
                .object(
                    JSONObject([
                        ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")),
                        ("role", Self.coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query")),
                        ("description", .string("parameters: " + self.parameters.joined(separator: ", "))),
                    ])))
        }
        if !entities.isEmpty { event["entity"] = .array(entities) }
        return event
    }

    static func coding(_ system: String, _ code: String, _ display: String?) -> JSONValue {
        var coding = JSONObject([("system", .string(system)), ("code", .string(code))])
        if let display { coding["display"] = .string(display) }
        return .object(coding)
    }

    static func identified(_ system: String, _ value: String) -> JSONValue {
        .object(JSONObject([("identifier", .object(JSONObject([("system", .string(system)), ("value", .string(value))])))]))
    }

    static func entity(_ reference: String, type: String, role: String) -> JSONValue {
        .object(
            JSONObject([
                ("what", .object(JSONObject([("reference", .string(reference))]))),
                ("type", Self.coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", type, nil)),
                ("role", Self.coding("http://terminology.hl7.org/CodeSystem/object-role", role, nil)),
            ]))
    }
}
