import Foundation
import HubFHIR
public import HubResources
import HubStorage
public import HubWorkflows
public import Logging
public import ServiceLifecycle

/// Turns written resources into notifications and delivers them, as a service of `hub serve`.
///
/// Each round: match the events the database recorded against the active subscriptions (each
/// criterion evaluated by the store's search with the subscriber's access, so an organization
/// is only ever told of what it may read), then post what is due. At-least-once: a notification
/// is marked delivered only after a 2xx, so a hub stopped mid-delivery sends it again after its
/// next start; receivers recognise repeats by subscription and event number.
public struct NotificationDispatcher: Service {
    public struct Settings: Sendable {
        /// The hub's FHIR base URL, for the absolute references in notification Bundles.
        public var baseURL: String
        public var schedule: RetrySchedule
        public var pollInterval: Duration
        /// How long a claimed delivery may take before another round may try it again.
        public var lease: Duration
        /// How long delivered notifications stay listed.
        public var keepDelivered: Duration = .seconds(7 * 24 * 3600)
        /// Which endpoints the hub may deliver to.
        public var addresses: OutboundAddressPolicy

        public init(baseURL: String, schedule: RetrySchedule, pollInterval: Duration, lease: Duration, addresses: OutboundAddressPolicy) {
            self.baseURL = baseURL
            self.schedule = schedule
            self.pollInterval = pollInterval
            self.lease = lease
            self.addresses = addresses
        }
    }

    let outbox: NotificationOutbox
    let directory: SubscriptionDirectory
    let store: any ResourceStore
    let makeChannel: @Sendable () throws -> any NotificationChannel
    let settings: Settings
    let logger: Logger

    /// - Parameter channel: Makes the channel when the service starts; it is shut down when
    ///   the service ends.
    public init(
        outbox: NotificationOutbox,
        store: any ResourceStore,
        channel: @escaping @Sendable () throws -> any NotificationChannel,
        settings: Settings,
        logger: Logger
    ) {
        self.outbox = outbox
        self.directory = SubscriptionDirectory(database: outbox.database, store: store, addresses: settings.addresses, logger: logger)
        self.store = store
        self.makeChannel = channel
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let channel = try self.makeChannel()
        await self.run(channel: channel)
        try await channel.shutdown()
    }

    func run(channel: any NotificationChannel) async {
        var subscriptions: [String: SubscriptionDirectory.Entry] = [:]
        var backoff = Backoff(interval: self.settings.pollInterval, ceiling: .seconds(10))
        var lastPurge = ContinuousClock.now - .seconds(3600)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let decision: Backoff.Decision
            do {
                subscriptions = try await self.directory.refresh(subscriptions)
                while try await self.match(subscriptions) > 0, !Task.isShuttingDownGracefully {}
                while try await self.deliverDue(subscriptions, channel: channel) > 0, !Task.isShuttingDownGracefully {}
                if ContinuousClock.now - lastPurge > .seconds(3600) {
                    try await self.outbox.purgeDelivered(before: Date().addingTimeInterval(-RetrySchedule.seconds(self.settings.keepDelivered)))
                    lastPurge = .now
                }
                decision = backoff.succeeded()
            } catch {
                // Database down or not migrated yet: what is queued stays queued. Reported once
                // per run of failures, like the hub's other loops, so a lasting one does not flood.
                decision = backoff.failed()
                if decision.report { self.logger.warning("notification round failed; will retry", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: decision.pause)
        }
    }

    /// Matches one batch of events; returns how many events it settled.
    func match(_ subscriptions: [String: SubscriptionDirectory.Entry]) async throws -> Int {
        let events = try await self.outbox.events(limit: 100)
        guard !events.isEmpty else { return 0 }
        let now = Date()
        let active = subscriptions.compactMap { id, entry -> SubscriptionMatcher.Subscriber? in
            guard let subscription = entry.subscription, subscription.isActive(at: now) else { return nil }
            return SubscriptionMatcher.Subscriber(id: id, organization: entry.organization, subscription: subscription)
        }.sorted { $0.id < $1.id }
        let matcher = SubscriptionMatcher(store: self.store)
        var matches: [(event: NotificationOutbox.Event, subscription: String, organization: String)] = []
        for event in events {
            // A storage failure ends the round: the events stay queued.
            let matched = try await matcher.matches(type: event.type, id: event.id, deleted: event.deleted, among: active) { id, error in
                self.logger.notice("subscription criteria refused; matched nothing", metadata: ["subscription": "\(id)", "error": "\(error.code)"])
            }
            matches += matched.map { (event, $0.id, $0.organization) }
        }
        try await self.outbox.settle(events, matches: matches)
        return events.count
    }

    /// Delivers one batch of due notifications, concurrently; returns how many it tried.
    func deliverDue(_ subscriptions: [String: SubscriptionDirectory.Entry], channel: any NotificationChannel) async throws -> Int {
        let due = try await self.outbox.claimDue(limit: 16, lease: self.settings.lease)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for notification in due {
                group.addTask {
                    try await self.deliver(notification, subscription: subscriptions[notification.subscription]?.subscription, channel: channel)
                }
            }
            try await group.waitForAll()
        }
        return due.count
    }

    func deliver(_ notification: NotificationOutbox.Notification, subscription: RestHookSubscription?, channel: any NotificationChannel) async throws
    {
        let now = Date()
        guard let subscription, subscription.isActive(at: now) else {
            try await self.outbox.failed(notification.id, reason: "the subscription is no longer active", retryAt: nil)
            return
        }
        var headers = subscription.headers.map { ($0.name, $0.value) }
        var body: [UInt8]?
        if subscription.sendsBundle {
            body = JSONValue.object(NotificationBundle.make(notification, base: self.settings.baseURL, now: now)).serialized()
            headers.append(("Content-Type", RestHookSubscription.payloadType))
        }
        let reason: String
        do {
            let status = try await channel.post(to: subscription.endpoint, headers: headers, body: body)
            if (200..<300).contains(status) {
                try await self.outbox.delivered(notification.id)
                return
            }
            reason = "delivery failed: HTTP \(status)"
        } catch {
            // The subscriber learns only that it failed: the hub's view of its networks (what a
            // name resolves to, which addresses refuse connections) is not theirs to probe.
            self.logger.notice("notification delivery failed", metadata: ["notification": "\(notification.id)", "error": "\(error)"])
            reason = "delivery failed"
        }
        let retryAt = self.settings.schedule.nextAttempt(
            after: notification.attempts, queuedAt: notification.createdAt, now: Date(), jitter: Double.random(in: 0..<1)
        )
        if retryAt == nil {
            self.logger.notice(
                "notification given up", metadata: ["subscription": "\(notification.subscription)", "notification": "\(notification.id)"])
        }
        try await self.outbox.failed(notification.id, reason: String(reason.prefix(500)), retryAt: retryAt)
    }
}
