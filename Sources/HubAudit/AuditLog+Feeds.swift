import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// Positions of the feeds that send the log elsewhere (the syslog feed), advanced at least once.
extension AuditLog {
    /// The index of the next record the live feed `name` is to send (0 for a new feed).
    public func feedPosition(_ name: String) async throws -> Int {
        let logger = self.logger
        return try await self.database.withConnection("audit feed position") { connection in
            let rows = try await connection.query("SELECT next_index FROM audit_feeds WHERE name = \(name)", logger: logger)
            for try await next in rows.decode(Int64.self) { return Int(next) }
            return 0
        }
    }

    /// Claims or renews feed `name` for `holder` for `lease`, and returns the index of its next
    /// record to send; nil while another holder's lease runs (only one hub sends a feed).
    public func claimFeed(_ name: String, holder: String, for lease: Duration) async throws -> Int? {
        let logger = self.logger
        let seconds = Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
        return try await self.database.withConnection("claim audit feed") { connection in
            let rows = try await connection.query(
                """
                INSERT INTO audit_feeds AS f (name, next_index, holder, held_until)
                VALUES (\(name), 0, \(holder), now() + \(seconds) * interval '1 second')
                ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, held_until = EXCLUDED.held_until
                WHERE f.holder IS NULL OR f.holder = EXCLUDED.holder OR f.held_until IS NULL OR f.held_until < now()
                RETURNING f.next_index
                """,
                logger: logger
            )
            for try await next in rows.decode(Int64.self) { return Int(next) }
            return nil
        }
    }

    /// Gives feed `name` up, if `holder` holds it: another hub may take it at once.
    public func releaseFeed(_ name: String, holder: String) async throws {
        let logger = self.logger
        try await self.database.withConnection("release audit feed") { connection in
            try await connection.run(
                "UPDATE audit_feeds SET held_until = NULL, holder = NULL WHERE name = \(name) AND holder = \(holder)", logger: logger)
        }
    }

    /// Records that feed `name` sent everything before `next`.
    public func advanceFeed(_ name: String, to next: Int) async throws {
        let logger = self.logger
        try await self.database.withConnection("advance audit feed") { connection in
            try await connection.run(
                """
                INSERT INTO audit_feeds (name, next_index) VALUES (\(name), \(Int64(next)))
                ON CONFLICT (name) DO UPDATE SET next_index = GREATEST(audit_feeds.next_index, EXCLUDED.next_index)
                """,
                logger: logger
            )
        }
    }
}
