public import Foundation
public import HubStorage
public import Logging
import PostgresNIO

/// The notifications waiting, sent and given up, in PostgreSQL (migration 0009): what survives a
/// restart is exactly what is here. Several hubs may share it: claims are leases, taken with
/// `SKIP LOCKED`, and a delivery that dies with its hub is retried when its lease runs out.
public struct NotificationOutbox: Sendable {
    /// A resource version written: a trigger records one per version of a watched type.
    public struct Event: Sendable, Equatable {
        public var sequence: Int64
        public var type: String
        public var id: String
        public var version: Int
        public var deleted: Bool
        public var occurredAt: Date
    }

    /// One subscription's notification of one event.
    public struct Notification: Sendable, Equatable {
        public enum State: String, Sendable, CaseIterable, Codable {
            case pending, delivered, dead
        }

        public var id: Int64
        public var subscription: String
        public var organization: String
        public var eventNumber: Int64
        public var focusType: String
        public var focusID: String
        public var focusVersion: Int
        public var occurredAt: Date
        public var createdAt: Date
        public var state: State
        public var attempts: Int
        public var nextAttemptAt: Date
        public var lastError: String?
        public var finishedAt: Date?
    }

    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The oldest events not yet matched.
    func events(limit: Int) async throws -> [Event] {
        let logger = self.logger
        return try await self.database.withConnection("read resource events") { connection in
            var sql = SQLBuilder()
            let statementText = "SELECT seq, type, id, version, deleted, occurred_at FROM resource_events ORDER BY seq LIMIT \(sql.bind(limit))"
            let statement = sql.query(statementText)
            var events: [Event] = []
            for try await (sequence, type, id, version, deleted, occurred) in try await connection.query(statement, logger: logger)
                .decode((Int64, String, String, Int, Bool, Date).self)
            {
                events.append(Event(sequence: sequence, type: type, id: id, version: version, deleted: deleted, occurredAt: occurred))
            }
            return events
        }
    }

    /// Removes `events` and queues `matches` for those that were still there, in one
    /// transaction: of two hubs matching the same events, one queues them. Each subscription's
    /// notifications are numbered on from its counter.
    func settle(_ events: [Event], matches: [(event: Event, subscription: String, organization: String)]) async throws {
        guard !events.isEmpty else { return }
        let logger = self.logger
        try await self.database.withTransaction("queue notifications") { connection in
            var removal = SQLBuilder()
            let removedText = "DELETE FROM resource_events WHERE seq = ANY(\(removal.bind(events.map(\.sequence)))) RETURNING seq"
            let removed = removal.query(removedText)
            var claimed: Set<Int64> = []
            for try await sequence in try await connection.query(removed, logger: logger).decode(Int64.self) {
                claimed.insert(sequence)
            }
            let bySubscription = Dictionary(grouping: matches.filter { claimed.contains($0.event.sequence) }, by: \.subscription)
            for (subscription, matches) in bySubscription.sorted(by: { $0.key < $1.key }) {
                let ordered = matches.sorted { $0.event.sequence < $1.event.sequence }
                var sql = SQLBuilder()
                let statementText = """
                    WITH counter AS (
                        INSERT INTO subscription_counters (subscription_id, events) VALUES (\(sql.bind(subscription)), \(sql.bind(ordered.count)))
                        ON CONFLICT (subscription_id) DO UPDATE SET events = subscription_counters.events + EXCLUDED.events
                        RETURNING events
                    )
                    INSERT INTO subscription_notifications
                        (subscription_id, organization_id, event_number, focus_type, focus_id, focus_version, focus_deleted, occurred_at)
                    SELECT \(sql.bind(subscription)), o, counter.events - \(sql.bind(ordered.count)) + n, t, i, v, d, at
                    FROM counter, unnest(\(sql.bind(ordered.map(\.organization)))::text[], \(sql.bind(ordered.map(\.event.type)))::text[],
                                         \(sql.bind(ordered.map(\.event.id)))::text[], \(sql.bind(ordered.map(\.event.version)))::int[],
                                         \(sql.bind(ordered.map(\.event.deleted)))::bool[], \(sql.bind(ordered.map(\.event.occurredAt)))::timestamptz[])
                        WITH ORDINALITY AS m(o, t, i, v, d, at, n)
                    """
                let statement = sql.query(statementText)
                try await connection.run(statement, logger: logger)
            }
        }
    }

    /// Takes up to `limit` due notifications for `lease`, counting the attempt.
    func claimDue(limit: Int, lease: Duration) async throws -> [Notification] {
        let logger = self.logger
        return try await self.database.withConnection("claim notifications") { connection in
            var sql = SQLBuilder()
            let statementText = """
                UPDATE subscription_notifications n SET claimed_until = now() + \(sql.bind(RetrySchedule.seconds(lease))) * interval '1 second',
                    attempts = n.attempts + 1
                WHERE n.id IN (
                    SELECT id FROM subscription_notifications
                    WHERE state = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
                    ORDER BY next_attempt_at, id LIMIT \(sql.bind(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING \(Self.columns)
                """
            let statement = sql.query(statementText)
            return try await Self.notifications(connection.query(statement, logger: logger))
        }
    }

    /// Records a delivery.
    func delivered(_ id: Int64) async throws {
        try await self.update(id, "state = 'delivered', finished_at = now(), claimed_until = NULL, last_error = NULL", binds: { _ in })
    }

    /// Records a failed attempt: tried again at `retryAt`, or given up (nil).
    func failed(_ id: Int64, reason: String, retryAt: Date?) async throws {
        if let retryAt {
            try await self.update(id, "next_attempt_at = $2, claimed_until = NULL, last_error = $3") { sql in
                _ = sql.bind(retryAt)
                _ = sql.bind(reason)
            }
        } else {
            try await self.update(id, "state = 'dead', finished_at = now(), claimed_until = NULL, last_error = $2") { sql in
                _ = sql.bind(reason)
            }
        }
    }

    private func update(_ id: Int64, _ assignments: String, binds: (inout SQLBuilder) -> Void) async throws {
        var sql = SQLBuilder()
        _ = sql.bind(id)
        binds(&sql)
        let statementText = "UPDATE subscription_notifications SET \(assignments) WHERE id = $1"
        let statement = sql.query(statementText)
        let logger = self.logger
        try await self.database.withConnection("record notification attempt") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    /// An organization's notifications, newest first; of one subscription and in one state if given.
    public func list(organization: String, state: Notification.State?, subscription: String?, limit: Int) async throws -> [Notification] {
        var sql = SQLBuilder()
        var conditions = ["organization_id = \(sql.bind(organization))"]
        if let state { conditions.append("state = \(sql.bind(state.rawValue))") }
        if let subscription { conditions.append("subscription_id = \(sql.bind(subscription))") }
        let statementText =
            "SELECT \(Self.columns) FROM subscription_notifications WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT \(sql.bind(limit))"
        let statement = sql.query(statementText)
        let logger = self.logger
        return try await self.database.withConnection("list notifications") { connection in
            try await Self.notifications(connection.query(statement, logger: logger))
        }
    }

    /// Queues a dead notification of `organization` again, as new; false if there is none.
    public func retry(_ id: Int64, organization: String) async throws -> Bool {
        var sql = SQLBuilder()
        let statementText = """
            UPDATE subscription_notifications SET state = 'pending', attempts = 0, next_attempt_at = now(), created_at = now(),
                finished_at = NULL, last_error = NULL
            WHERE id = \(sql.bind(id)) AND organization_id = \(sql.bind(organization)) AND state = 'dead' RETURNING id
            """
        let statement = sql.query(statementText)
        let logger = self.logger
        return try await self.database.withConnection("retry notification") { connection in
            var found = false
            for try await _ in try await connection.query(statement, logger: logger).decode(Int64.self) { found = true }
            return found
        }
    }

    /// Forgets delivered notifications finished before `cutoff`.
    func purgeDelivered(before cutoff: Date) async throws {
        var sql = SQLBuilder()
        let statementText = "DELETE FROM subscription_notifications WHERE state = 'delivered' AND finished_at < \(sql.bind(cutoff))"
        let statement = sql.query(statementText)
        let logger = self.logger
        try await self.database.withConnection("purge notifications") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    static let columns = """
        id, subscription_id, organization_id, event_number, focus_type, focus_id, focus_version, occurred_at, created_at, state, \
        attempts, next_attempt_at, last_error, finished_at
        """

    static func notifications(_ rows: PostgresRowSequence) async throws -> [Notification] {
        var result: [Notification] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            result.append(
                Notification(
                    id: try c[0].decode(Int64.self), subscription: try c[1].decode(String.self),
                    organization: try c[2].decode(String.self), eventNumber: try c[3].decode(Int64.self),
                    focusType: try c[4].decode(String.self), focusID: try c[5].decode(String.self),
                    focusVersion: try c[6].decode(Int.self), occurredAt: try c[7].decode(Date.self),
                    createdAt: try c[8].decode(Date.self), state: Notification.State(rawValue: try c[9].decode(String.self)) ?? .pending,
                    attempts: try c[10].decode(Int.self), nextAttemptAt: try c[11].decode(Date.self),
                    lastError: try c[12].decode(String?.self), finishedAt: try c[13].decode(Date?.self)
                )
            )
        }
        return result
    }
}
