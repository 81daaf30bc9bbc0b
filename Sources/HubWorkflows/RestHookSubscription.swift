public import Foundation
public import HubFHIR
public import HubResourcesCore

/// What the hub needs of a stored R4 Subscription with a `rest-hook` channel, checked: where to
/// post, which headers to send, whether the body is a notification Bundle or nothing.
public struct RestHookSubscription: Sendable {
    /// The payload MIME type the hub sends notification Bundles as.
    public static let payloadType = "application/fhir+json"

    public var id: String
    public var criteria: SubscriptionCriteria
    public var endpoint: URL
    /// `channel.header`, as name and value.
    public var headers: [(name: String, value: String)]
    /// Whether a notification carries a Bundle (`channel.payload` set) or no body at all (R4's
    /// "ping": the receiver searches).
    public var sendsBundle: Bool
    public var status: String
    public var end: Date?

    /// Reads and checks `resource` (the body of Subscription `id`); errors are 422s naming the
    /// element at fault. An endpoint on an address `addresses` refuses is refused.
    public init(_ resource: JSONObject, id: String, addresses: OutboundAddressPolicy) throws(ResourceError) {
        self.id = id
        self.status = resource["status"]?.stringValue ?? ""
        guard let criteria = resource["criteria"]?.stringValue else {
            throw Self.error("a subscription needs criteria", "Subscription.criteria")
        }
        self.criteria = try SubscriptionCriteria(criteria)
        guard let channel = resource["channel"]?.objectValue else {
            throw Self.error("a subscription needs a channel", "Subscription.channel")
        }
        guard channel["type"]?.stringValue == "rest-hook" else {
            throw Self.error("the hub delivers over rest-hook channels only", "Subscription.channel.type")
        }
        guard let text = channel["endpoint"]?.stringValue, let endpoint = URL(string: text),
            endpoint.scheme?.lowercased() == "https", let host = endpoint.host, !host.isEmpty,
            endpoint.user == nil, endpoint.password == nil
        else {
            throw Self.error("the endpoint must be an https URL without credentials in it", "Subscription.channel.endpoint")
        }
        if let refusal = addresses.refusal(host: host) {
            throw Self.error("the hub does not deliver to internal addresses: \(refusal)", "Subscription.channel.endpoint")
        }
        self.endpoint = endpoint
        switch channel["payload"]?.stringValue {
        case nil: self.sendsBundle = false
        case Self.payloadType?, "application/json"?: self.sendsBundle = true
        case let other?:
            throw Self.error("payload \(other) is not offered: use \(Self.payloadType) (a Bundle of ids) or none", "Subscription.channel.payload")
        }
        var headers: [(String, String)] = []
        for (index, header) in (channel["header"]?.arrayValue ?? []).enumerated() {
            let path = "Subscription.channel.header[\(index)]"
            guard let line = header.stringValue, let colon = line.firstIndex(of: ":") else {
                throw Self.error("a header is 'Name: value'", path)
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(Self.tokenCharacters.contains),
                !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else {
                throw Self.error("a header is 'Name: value' with a token name and no control characters", path)
            }
            guard !["host", "content-length", "content-type", "transfer-encoding", "connection"].contains(name.lowercased()) else {
                throw Self.error("header \(name) is set by the hub", path)
            }
            headers.append((name, value))
        }
        guard headers.count <= 10 else { throw Self.error("at most 10 headers", "Subscription.channel.header") }
        self.headers = headers
        if let end = resource["end"]?.stringValue {
            guard let range = FHIRDateRange(end) else { throw Self.error("end must be an instant", "Subscription.end") }
            self.end = range.high
        }
    }

    /// Whether the hub notifies for it at `now`.
    public func isActive(at now: Date) -> Bool {
        self.status == "active" && (self.end.map { $0 > now } ?? true)
    }

    /// RFC 9110 `tchar`: what a header name may be made of.
    static let tokenCharacters = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

    static func error(_ message: String, _ expression: String) -> ResourceError {
        ResourceError(.unprocessable, .value, message, expression: [expression])
    }
}
