import Foundation
import HubConfig
import HubFHIR
import HubResources
import HubTestSupport
import HubWorkflows
import Testing

/// Subscription matching over the in-memory store (issue #17): which Subscriptions a change
/// notifies, in milliseconds and without PostgreSQL. The in-memory store ignores access, so that
/// a subscriber is told nothing it may not see is proved where access is real:
/// `NotificationTests` in HubServerTests runs the same matcher through the outbox, over
/// PostgreSQL and HTTPS (a hospital subscribed to every Task is told of none it cannot read).
@Suite struct SubscriptionMatcherTests {
    static func object(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(text.utf8)).objectValue)
    }

    /// An active rest-hook Subscription of `organization` (the endpoint is never called here).
    static func subscriber(_ id: String, of organization: String, criteria: String) throws -> SubscriptionMatcher.Subscriber {
        let body = try Self.object(
            #"{"resourceType":"Subscription","status":"active","reason":"转诊通知","criteria":"\#(criteria)","channel":{"type":"rest-hook","endpoint":"https://127.0.0.1:9/hook"}}"#
        )
        let loopback = try #require(IPNetwork("127.0.0.0/8"))
        let subscription = try RestHookSubscription(body, id: id, addresses: OutboundAddressPolicy(allowed: [loopback]))
        return SubscriptionMatcher.Subscriber(id: id, organization: organization, subscription: subscription)
    }

    static func task(owner: String, status: String, id: String? = nil) throws -> JSONObject {
        let identity = id.map { #""id":"\#($0)","# } ?? ""
        return try Self.object(
            #"{"resourceType":"Task",\#(identity)"status":"\#(status)","intent":"order","owner":{"reference":"Organization/\#(owner)"},"requester":{"reference":"Organization/hospital-a"}}"#
        )
    }

    @Test func aChangeNotifiesTheSubscriptionsWhoseCriteriaFindIt() async throws {
        let store = InMemoryResourceStore()
        let matcher = SubscriptionMatcher(store: store)
        let subscribers = [
            try Self.subscriber("s-b", of: "hospital-b", criteria: "Task?owner=Organization/hospital-b"),
            try Self.subscriber("s-b-accepted", of: "hospital-b", criteria: "Task?owner=Organization/hospital-b&status=accepted"),
            try Self.subscriber("s-c", of: "hospital-c", criteria: "Task?owner=Organization/hospital-c"),
            try Self.subscriber("s-requests", of: "hospital-b", criteria: "ServiceRequest?performer=Organization/hospital-b"),
        ]
        let task = try await store.create(try Self.task(owner: "hospital-b", status: "requested"), type: .task, access: .unrestricted, audit: .test)
        #expect(try await matcher.matches(type: "Task", id: task.id, deleted: false, among: subscribers).map(\.id) == ["s-b"])

        // Accepted: the narrower subscription joins; the resource as it now is decides.
        _ = try await store.update(
            try Self.task(owner: "hospital-b", status: "accepted", id: task.id), type: .task, id: task.id, ifMatch: nil, access: .unrestricted,
            audit: .test)
        #expect(try await matcher.matches(type: "Task", id: task.id, deleted: false, among: subscribers).map(\.id) == ["s-b", "s-b-accepted"])

        // Another Task is nobody's business but its owner's; a deletion notifies nobody.
        let other = try await store.create(try Self.task(owner: "hospital-c", status: "requested"), type: .task, access: .unrestricted, audit: .test)
        #expect(try await matcher.matches(type: "Task", id: other.id, deleted: false, among: subscribers).map(\.id) == ["s-c"])
        #expect(try await matcher.matches(type: "Task", id: task.id, deleted: true, among: subscribers).isEmpty)
        #expect(try await matcher.matches(type: "Task", id: "no-such-task", deleted: false, among: subscribers).isEmpty)
    }

    /// A criterion the store refuses matches nothing and is reported, and the others still match.
    @Test func aRefusedCriterionMatchesNothingAndHoldsUpNoOne() async throws {
        let store = InMemoryResourceStore()
        let matcher = SubscriptionMatcher(store: store)
        // The in-memory store refuses date clauses: a stand-in for a rule that changed since the
        // Subscription was accepted.
        let subscribers = [
            try Self.subscriber("s-dated", of: "hospital-b", criteria: "Task?owner=Organization/hospital-b&authored-on=ge2026-01-01"),
            try Self.subscriber("s-b", of: "hospital-b", criteria: "Task?owner=Organization/hospital-b"),
        ]
        let task = try await store.create(try Self.task(owner: "hospital-b", status: "requested"), type: .task, access: .unrestricted, audit: .test)
        var refused: [String] = []
        let matched = try await matcher.matches(type: "Task", id: task.id, deleted: false, among: subscribers) { id, _ in refused.append(id) }
        #expect(matched.map(\.id) == ["s-b"])
        #expect(matched.first?.organization == "hospital-b")
        #expect(refused == ["s-dated"])
    }
}
