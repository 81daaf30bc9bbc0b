import Foundation
import HubAccess
import HubAudit
import HubFHIR
public import HubNotifications
import HubResources
public import Hummingbird

/// `/notifications`: an organization's Subscription notifications — pending, delivered and
/// given up (the dead-letter list) — and a retry of a given-up one. Hospital systems and
/// clinicians with Subscription scopes; each sees its own organization's only.
public struct NotificationRoutes: Sendable {
    let outbox: NotificationOutbox

    public init(outbox: NotificationOutbox) {
        self.outbox = outbox
    }

    /// A notification as listed: ids, times and the last failure; nothing clinical.
    struct Listed: Encodable {
        var id: String
        var subscription: String
        var eventNumber: Int64
        var focus: String
        var state: String
        var attempts: Int
        var queuedAt: String
        var nextAttemptAt: String?
        var finishedAt: String?
        var lastError: String?

        init(_ notification: NotificationOutbox.Notification) {
            self.id = String(notification.id)
            self.subscription = "Subscription/\(notification.subscription)"
            self.eventNumber = notification.eventNumber
            self.focus = "\(notification.focusType)/\(notification.focusID)/_history/\(notification.focusVersion)"
            self.state = notification.state.rawValue
            self.attempts = notification.attempts
            self.queuedAt = UTCTime(notification.createdAt).instant
            self.nextAttemptAt = notification.state == .pending ? UTCTime(notification.nextAttemptAt).instant : nil
            self.finishedAt = notification.finishedAt.map { UTCTime($0).instant }
            self.lastError = notification.lastError
        }
    }

    struct Listing: Encodable {
        var notifications: [Listed]
    }

    public func add(to router: Router<HubRequestContext>) {
        let group = router.group("notifications").add(middleware: AccessGate.clinical)
        group.get { request, context in
            context.audit.interaction("notifications", action: .read, type: "Subscription")
            let organization = try Self.organization(context, write: false)
            let query = request.uri.queryParameters
            var state: NotificationOutbox.Notification.State?
            if let text = query.get("state") {
                guard let parsed = NotificationOutbox.Notification.State(rawValue: text) else {
                    throw APIError.badRequest("state is one of pending, delivered, dead")
                }
                state = parsed
            }
            var count = 100
            if let text = query.get("_count") {
                guard let parsed = Int(text), (1...1000).contains(parsed) else { throw APIError.badRequest("_count is 1 to 1000") }
                count = parsed
            }
            let subscription = query.get("subscription").map { $0.hasPrefix("Subscription/") ? String($0.dropFirst(13)) : $0 }
            let found = try await self.outbox.list(organization: organization, state: state, subscription: subscription, limit: count)
            return Response.json(Listing(notifications: found.map(Listed.init)))
        }
        group.post(":id/retry") { _, context in
            context.audit.interaction("notifications", action: .update, type: "Subscription")
            let organization = try Self.organization(context, write: true)
            guard let id = context.parameters.get("id").flatMap(Int64.init),
                try await self.outbox.retry(id, organization: organization)
            else {
                throw APIError.notFound("no given-up notification of this organization has that id")
            }
            return Response(status: .accepted)
        }
    }

    static func organization(_ context: HubRequestContext, write: Bool) throws -> String {
        guard let organization = try context.recordAccess(.subscription, write: write).organization else {
            throw APIError(.forbidden, code: .forbidden, diagnostics: "notifications belong to an organization")
        }
        return organization
    }
}
