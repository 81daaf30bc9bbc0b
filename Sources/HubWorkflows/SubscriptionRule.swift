public import HubFHIR
public import HubResourcesCore

/// Writes of Subscriptions: checked as the hub will use them (``RestHookSubscription``), owned
/// by the writer's organization, and made `active` when requested — in R4 the server, not the
/// client, activates a subscription. `error` is the hub's to set.
public struct SubscriptionRule: WriteRule {
    let addresses: OutboundAddressPolicy

    public init(addresses: OutboundAddressPolicy) {
        self.addresses = addresses
    }

    public var type: ResourceType { .subscription }

    public func admit(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> WriteOperation {
        let (id, resource): (String?, JSONObject)
        switch operation {
        case .create(_, let given, let body): (id, resource) = (given, body)
        case .update(_, let given, let body, _): (id, resource) = (given, body)
        case .delete: return operation
        }
        guard access.organization != nil else {
            throw ResourceError(.forbidden, .forbidden, "a subscription belongs to an organization: subscribe as one of its clients or users")
        }
        let subscription = try RestHookSubscription(resource, id: id ?? "", addresses: self.addresses)
        var admitted = resource
        switch subscription.status {
        case "requested", "active": admitted["status"] = .string("active")
        case "off": break
        default:
            throw ResourceError(
                .unprocessable, .value, "status \(subscription.status) is the hub's to set: request a subscription with requested, stop it with off",
                expression: ["Subscription.status"])
        }
        switch operation {
        case .create(let type, let given, _): return .create(type, id: given, admitted)
        case .update(let type, let given, _, let ifMatch): return .update(type, id: given, admitted, ifMatch: ifMatch)
        case .delete: return operation
        }
    }
}
