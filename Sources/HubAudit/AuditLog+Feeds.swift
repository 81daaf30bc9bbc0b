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
