import Foundation
import HubFHIR
import HubResources
import HubStorage
import HubWorkflows
import Logging
import PostgresNIO

/// The hub's Subscriptions as the dispatcher needs them, read through the store (they are
/// stored encrypted like any resource) and kept parsed until a new version is written.
struct SubscriptionDirectory: Sendable {
    struct Entry: Sendable {
        var version: Int
        var organization: String
        /// Nil when the stored resource no longer reads as a usable subscription.
        var subscription: RestHookSubscription?
    }

    let database: Database
    let store: any ResourceStore
    /// A subscription whose endpoint the policy refuses is no subscription to notify.
    let addresses: OutboundAddressPolicy
    let logger: Logger

    /// Every current Subscription, reusing `known` entries whose version has not changed.
    func refresh(_ known: [String: Entry]) async throws -> [String: Entry] {
        let logger = self.logger
        let rows = try await self.database.withConnection("list subscriptions") { connection in
            var found: [(String, Int, String?)] = []
            let statement: PostgresQuery = "SELECT id, version, organization FROM resources WHERE type = 'Subscription' AND NOT deleted"
            for try await row in try await connection.query(statement, logger: logger).decode((String, Int, String?).self) {
                found.append(row)
            }
            return found
        }
        var entries: [String: Entry] = [:]
        for (id, version, organization) in rows {
            guard let organization else { continue }
            if let entry = known[id], entry.version == version {
                entries[id] = entry
                continue
            }
            do {
                let stored = try await self.store.read(.subscription, id: id, access: RecordAccess(.organization(organization)))
                let subscription = stored.resource.flatMap { try? RestHookSubscription($0, id: id, addresses: self.addresses) }
                entries[id] = Entry(version: stored.versionID, organization: organization, subscription: subscription)
            } catch is ResourceError {
                // Deleted or changed since the listing: not a subscription to notify now.
                entries[id] = Entry(version: version, organization: organization, subscription: nil)
            }
        }
        return entries
    }
}
