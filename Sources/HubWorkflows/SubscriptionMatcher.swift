import HubFHIR
public import HubResourcesCore

/// Which Subscriptions a change notifies: every active one of the changed resource's type whose
/// criteria, run by the store's own search with the subscriber's access, find that resource —
/// so a criterion means what the same search means, and nobody is told of a record it may not
/// see. Knows no outbox and no delivery (`NotificationDispatcher` keeps both).
public struct SubscriptionMatcher: Sendable {
    /// An active Subscription and the organization it belongs to (whose access it searches with).
    public struct Subscriber: Sendable {
        public var id: String
        public var organization: String
        public var subscription: RestHookSubscription

        public init(id: String, organization: String, subscription: RestHookSubscription) {
            self.id = id
            self.organization = organization
            self.subscription = subscription
        }
    }

    let store: any ResourceStore

    public init(store: any ResourceStore) {
        self.store = store
    }

    /// The `subscribers` that resource `type`/`id`, as it now is, notifies; a
    /// deletion notifies nobody (its criteria cannot be evaluated; the hub's workflows end Tasks
    /// and Appointments by status, not by deleting them). A criterion the store refuses (its
    /// rules changed since it was accepted) matches nothing and is passed to `refused`, so it
    /// cannot hold up the others; a storage failure is thrown.
    public func matches(
        type: String, id: String, deleted: Bool, among subscribers: [Subscriber], refused: (String, ResourceError) -> Void = { _, _ in }
    ) async throws -> [Subscriber] {
        guard !deleted else { return [] }
        var matched: [Subscriber] = []
        for subscriber in subscribers where subscriber.subscription.criteria.type.rawValue == type {
            let found: SearchResult
            do {
                found = try await self.store.search(
                    subscriber.subscription.criteria.query(for: id), access: RecordAccess(.organization(subscriber.organization)))
            } catch let error as ResourceError {
                refused(subscriber.id, error)
                continue
            }
            if found.resources.contains(where: { $0.id == id }) { matched.append(subscriber) }
        }
        return matched
    }
}
