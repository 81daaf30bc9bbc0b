public import HubAuditCore
public import HubFHIR

/// How a queued job (an export, an import) remembers who asked: the audit trail names them on
/// every page or batch the job writes long after the request has gone.
extension Caller {
    /// The members a job's sealed description keeps.
    public var jobJSON: JSONObject {
        var object = JSONObject([("purposeOfUse", .string(self.purposeOfUse))])
        for (key, value) in [
            ("client", self.client), ("organization", self.organization), ("user", self.user),
            ("address", self.address), ("requestID", self.requestID),
        ] {
            if let value { object[key] = .string(value) }
        }
        return object
    }

    /// Reads what ``jobJSON`` wrote; nil without a purpose of use.
    public init?(jobJSON object: JSONObject) {
        guard let purpose = object["purposeOfUse"]?.stringValue else { return nil }
        self.init(
            client: object["client"]?.stringValue, organization: object["organization"]?.stringValue, user: object["user"]?.stringValue,
            address: object["address"]?.stringValue, purposeOfUse: purpose, requestID: object["requestID"]?.stringValue)
    }
}
