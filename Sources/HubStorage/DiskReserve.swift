public import Logging
import PostgresNIO
public import ServiceLifecycle

/// Keeps `megabytes` of the database's disk in reserve (the `storage_reserve` table), released
/// for the audit trail when the disk fills (``DiskSpace``).
///
/// A full disk fails every statement that needs a new page — a read's audit record included, and
/// an unaudited read is never answered. So when a write meets SQLSTATE 53100 the hub drops the
/// reserve, refuses writes of records itself, and reads go on in the space released. Dropping,
/// not truncating: `TRUNCATE` writes a new catalog row, which a disk full to the last byte
/// refuses; `DROP TABLE` only deletes. The table is therefore the hub's scratch space, created
/// here rather than by a migration, and nothing reads it. Every `retryInterval` it tries to fill the reserve again and, on
/// top of it, as much again in a temporary table: only when both fit — a reserve's worth of room
/// beyond the reserve — are writes accepted again. Nobody has to intervene.
public struct DiskReserve: Service {
    let database: Database
    let megabytes: Int
    let checkInterval: Duration
    let retryInterval: Duration
    let logger: Logger

    public init(
        database: Database,
        megabytes: Int,
        checkInterval: Duration = .milliseconds(250),
        retryInterval: Duration = .seconds(10),
        logger: Logger
    ) {
        self.database = database
        self.megabytes = megabytes
        self.checkInterval = checkInterval
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public func run() async throws {
        guard self.megabytes > 0 else {
            // Off: nothing to keep, but a service that ends early stops the hub.
            try? await gracefulShutdown()
            return
        }
        var released = false
        var complete = false
        var lastAttempt: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let disk = self.database.disk
            if disk.isFull, !released {
                released = await self.release()
            }
            let now = ContinuousClock.now
            if !complete || disk.isFull, lastAttempt.map({ now - $0 >= self.retryInterval }) ?? true {
                lastAttempt = now
                switch await self.fill(probing: disk.isFull) {
                case .filled:
                    complete = true
                    released = false
                    if disk.markRoom() {
                        self.logger.notice("the database's disk has room again: writes are accepted")
                    }
                case .diskFull:
                    complete = false
                    disk.markFull()
                case .failed:
                    break  // the database away, or the schema not yet migrated: tried again later
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkInterval) }
        }
    }

    enum Outcome {
        case filled, diskFull, failed
    }

    /// Empties the reserve; returns whether it did.
    private func release() async -> Bool {
        do {
            try await self.database.withConnection("release the disk reserve") { connection in
                try await connection.run("DROP TABLE IF EXISTS storage_reserve", logger: self.logger)
            }
            self.logger.warning("released the disk reserve for the audit trail", metadata: ["megabytes": "\(self.megabytes)"])
            return true
        } catch {
            self.logger.warning("could not release the disk reserve", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Fills the reserve up to its size and, when `probing`, checks that as much again fits
    /// beside it.
    private func fill(probing: Bool) async -> Outcome {
        do {
            try await self.database.withConnection("fill the disk reserve", timeout: .seconds(120)) { connection in
                let target = Int64(self.megabytes) * 1024 * 1024
                try await connection.run(
                    "CREATE TABLE IF NOT EXISTS storage_reserve (filler text NOT NULL) WITH (autovacuum_enabled = false)", logger: self.logger)
                // Stored as written: compressed or moved out of line it would hold less than it says.
                try await connection.run("ALTER TABLE storage_reserve ALTER COLUMN filler SET STORAGE PLAIN", logger: self.logger)
                var size = try await Self.size(on: connection, logger: self.logger)
                while size < target {
                    try await connection.run(Self.chunk(into: .reserve, bytes: target - size), logger: self.logger)
                    size = try await Self.size(on: connection, logger: self.logger)
                }
                guard probing else { return () }
                // As much again, in a temporary table dropped at once: room beyond the reserve.
                try await connection.run("CREATE TEMPORARY TABLE IF NOT EXISTS disk_probe (filler text NOT NULL)", logger: self.logger)
                try await connection.run("ALTER TABLE disk_probe ALTER COLUMN filler SET STORAGE PLAIN", logger: self.logger)
                do {
                    var probed: Int64 = 0
                    while probed < target {
                        try await connection.run(Self.chunk(into: .probe, bytes: target - probed), logger: self.logger)
                        probed += Self.chunkBytes
                    }
                    try await connection.run("DROP TABLE disk_probe", logger: self.logger)
                } catch {
                    try? await connection.run("DROP TABLE IF EXISTS disk_probe", logger: self.logger)
                    throw error
                }
                return ()
            }
            return .filled
        } catch let error as StorageError where error.isDiskFull {
            return .diskFull
        } catch {
            self.logger.debug("could not fill the disk reserve", metadata: ["error": "\(error)"])
            return .failed
        }
    }

    /// Where a chunk goes: the reserve, or the probe that checks for room beside it.
    enum Table {
        case reserve, probe
    }

    /// At most about 8 MiB of incompressible text per statement, in rows of about 7,000
    /// characters (one to a page).
    static let chunkBytes: Int64 = 1_152 * 7_000
    static func chunk(into table: Table, bytes: Int64) -> PostgresQuery {
        let rows = max(1, min(1_152, (bytes + 6_999) / 7_000))
        switch table {
        case .reserve:
            return """
                INSERT INTO storage_reserve (filler)
                SELECT string_agg(md5(random()::text || g::text || i::text), '')
                FROM generate_series(1, \(rows)) AS g, generate_series(1, 218) AS i GROUP BY g
                """
        case .probe:
            return """
                INSERT INTO disk_probe (filler)
                SELECT string_agg(md5(random()::text || g::text || i::text), '')
                FROM generate_series(1, \(rows)) AS g, generate_series(1, 218) AS i GROUP BY g
                """
        }
    }

    static func size(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("SELECT COALESCE(pg_relation_size(to_regclass('storage_reserve')), 0)::bigint", logger: logger)
        for try await size in rows.decode(Int64.self) { return size }
        return 0
    }
}
