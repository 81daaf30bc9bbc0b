/// Who is making a request, as the audit trail records it and authorization judges it.
///
/// A hospital system is a *client* of an *organization*; it may act on behalf of one of its
/// clinicians (*user*). Identifiers are the hub's registration ids, never names.
public struct Caller: Sendable, Equatable {
    /// The registered client (hospital system), or `cert:<fingerprint>` for a client certificate
    /// not yet bound to a registration.
    public var client: String?
    /// The organization the client or user belongs to.
    public var organization: String?
    /// The person: a clinician the client acts for, a regulator or an administrator.
    public var user: String?
    /// The network address the request came from.
    public var address: String?
    /// Why: a code of HL7's PurposeOfUse (`TREAT`, `ETREAT` for break-glass, `HOPERAT`, …).
    public var purposeOfUse: String
    /// The reason given when declaring an emergency (break-glass).
    public var breakGlassReason: String?
    /// The request id (`X-Request-Id`), which ties the record to the hub's logs.
    public var requestID: String?

    public init(
        client: String? = nil,
        organization: String? = nil,
        user: String? = nil,
        address: String? = nil,
        purposeOfUse: String = "TREAT",
        breakGlassReason: String? = nil,
        requestID: String? = nil
    ) {
        self.client = client
        self.organization = organization
        self.user = user
        self.address = address
        self.purposeOfUse = purposeOfUse
        self.breakGlassReason = breakGlassReason
        self.requestID = requestID
    }
}
