public import Foundation
import HubCrypto
import HubFHIR
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// The log searched: by patient, organization, client, time (regulators' views and reports).
extension AuditLog {
    // MARK: Searching

    /// Integrated records, newest first, filtered by patient, organization, client and time;
    /// one page after leaf `before` (exclusive). Queued records appear once integrated.
    public func search(
        patient: String? = nil,
        organization: String? = nil,
        client: String? = nil,
        from: Date? = nil,
        to: Date? = nil,
        count: Int,
        before: Int? = nil
    ) async throws -> [(index: Int, leaf: [UInt8])] {
        let logger = self.logger
        return try await self.database.withConnection("audit search") { connection in
            var sql = SQLBuilder()
            var conditions: [String] = []
            if let patient { conditions.append("patient = \(sql.bind(patient))") }
            if let organization { conditions.append("organization = \(sql.bind(organization))") }
            if let client { conditions.append("client = \(sql.bind(client))") }
            if let from { conditions.append("recorded_at >= \(sql.bind(UTCTime(from).instant))::timestamptz") }
            if let to { conditions.append("recorded_at < \(sql.bind(UTCTime(to).instant))::timestamptz") }
            if let before { conditions.append("idx < \(sql.bind(Int64(before)))") }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let limit = sql.bind(count)
            let rows = try await connection.query(
                sql.query("SELECT idx, record FROM audit_log \(filter) ORDER BY idx DESC LIMIT \(limit)"),
                logger: logger
            )
            var found: [(index: Int, leaf: [UInt8])] = []
            for try await (index, record) in rows.decode((Int64, ByteBuffer).self) {
                found.append((Int(index), Array(buffer: record)))
            }
            return found
        }
    }

    /// The integrated record whose id is `id` (an AuditEvent read by id), found through the
    /// expression index on the leaf's id (migration 0016); nil when there is none (yet).
    public func record(id: String) async throws -> (index: Int, leaf: [UInt8])? {
        let logger = self.logger
        return try await self.database.withConnection("audit record") { connection in
            let rows = try await connection.query(
                "SELECT idx, record FROM audit_log WHERE audit_record_id(record) = \(id) ORDER BY idx LIMIT 1", logger: logger)
            for try await (index, record) in rows.decode((Int64, ByteBuffer).self) {
                return (Int(index), Array(buffer: record))
            }
            return nil
        }
    }

    /// to the last (records in between are included whatever their time); nil if there are none.
    public func indexRange(from: Date, to: Date, below size: Int) async throws -> Range<Int>? {
        let logger = self.logger
        return try await self.database.withConnection("audit index range") { connection in
            let rows = try await connection.query(
                """
                SELECT min(idx), max(idx) FROM audit_log
                WHERE recorded_at >= \(UTCTime(from).instant)::timestamptz AND recorded_at < \(UTCTime(to).instant)::timestamptz AND idx < \(Int64(size))
                """,
                logger: logger
            )
            for try await (low, high) in rows.decode((Int64?, Int64?).self) {
                guard let low, let high else { return nil }
                return Int(low)..<Int(high + 1)
            }
            return nil
        }
    }
}
