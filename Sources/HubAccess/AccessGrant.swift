public import HubAudit
public import HubResourcesCore

/// What an authenticated request may do: who it is, for which organization, with which scopes,
/// and whether an emergency (break-glass) opened one patient's records.
public struct AccessGrant: Sendable, Equatable {
    /// A declared emergency: one patient's records opened, with the reason given.
    public struct Emergency: Sendable, Equatable {
        public var patient: String
        public var reason: String

        public init(patient: String, reason: String) {
            self.patient = patient
            self.reason = reason
        }
    }

    /// The authenticated principal (a client or a user).
    public var principal: String
    public var role: Role
    public var organization: String
    /// The clinician the request is for: the user principal itself, or the one a hospital
    /// system acts for (`X-On-Behalf-Of`).
    public var user: String?
    public var scopes: [Scope]
    public var emergency: Emergency?

    public init(principal: String, role: Role, organization: String, user: String? = nil, scopes: [Scope], emergency: Emergency? = nil) {
        self.principal = principal
        self.role = role
        self.organization = organization
        self.user = user
        self.scopes = scopes
        self.emergency = emergency
    }

    /// The records this grant may see and write: none outside the clinical roles.
    public var recordAccess: RecordAccess? {
        guard self.role.isClinical else { return nil }
        return RecordAccess(
            .organization(self.organization, emergencyPatient: self.emergency?.patient),
            readableTypes: Scope.types(self.scopes, write: false),
            writableTypes: Scope.types(self.scopes, write: true)
        )
    }

    /// The caller as the audit trail records it.
    public func caller(address: String?, requestID: String?) -> Caller {
        Caller(
            client: self.role == .system ? self.principal : nil,
            organization: self.organization,
            user: self.role == .system ? self.user : self.principal,
            address: address,
            purposeOfUse: self.purposeOfUse,
            breakGlassReason: self.emergency?.reason,
            requestID: requestID
        )
    }

    /// HL7 PurposeOfUse: emergency treatment, treatment, compliance oversight, administration.
    var purposeOfUse: String {
        if self.emergency != nil { return "ETREAT" }
        switch self.role {
        case .system, .clinician: return "TREAT"
        case .regulator: return "HCOMPL"
        case .administrator: return "HSYSADMIN"
        }
    }
}
