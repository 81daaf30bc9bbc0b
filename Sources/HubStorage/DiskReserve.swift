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
/// refuses; `DROP TABLE` only deletes. The table is the hubs' scratch space, created here rather
/// than by a migration, and nothing reads it.
///
/// The reserve is filled in one transaction together with a copy of it, in a temporary table
/// dropped at its commit: it succeeds only with a reserve's worth of room beyond the
/// reserve, and when it fails it leaves nothing behind. One hub fills at a time (an advisory
/// lock). Every hub on the database looks at the table every `checkInterval`: a reserve another
/// hub released means the disk is full here too, and one back at full size means there is room.
public struct DiskReserve: Service {
    let database: Database
    let megabytes: Int
    let checkInterval: Duration
    let retryInterval: Duration
    let logger: Logger

    public init(
        database: Database,
        megabytes: Int,
        checkInterval: Duration = .milliseconds(500),
        retryInterval: Duration = .seconds(10),
        logger: Logger
    ) {
        self.database = database
        self.megabytes = megabytes
        self.checkInterval = checkInterval
        self.retryInterval = retryInterval
        self.logger = logger
    }

    var target: Int64 { Int64(self.megabytes) * 1024 * 1024 }

    public func run() async throws {
        guard self.megabytes > 0 else {
            // Off: nothing to keep, but a service that ends early stops the hub.
            try? await gracefulShutdown()
            return
        }
        let disk = self.database.disk
        disk.watch()
        // The reserve of this full-disk episode is gone (dropped here, or by another hub).
        var dropped = false
        // The reserve has been seen whole: from then on a missing one means another hub
        // released it.
        var seenWhole = false
        var lastFill: ContinuousClock.Instant?
        var warned = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = ContinuousClock.now
            let due = lastFill.map { now - $0 >= self.retryInterval } ?? true
            if let size = await self.reserveSize() {
                if size >= self.target { seenWhole = true }
                if disk.isFull {
                    if !dropped {
                        // This hub met the full disk: give the reserve back to the audit trail.
                        if size > 0 { await self.release() }
                        dropped = true
                        lastFill = now
                    } else if size >= self.target {
                        // Filled again, by another hub, with room to spare.
                        dropped = false
                        if disk.markRoom() { self.logger.notice("the database's disk has room again: writes are accepted") }
                    } else if due {
                        lastFill = now
                        if await self.attemptFill(warned: &warned) { dropped = false }
                    }
                } else if size < self.target {
                    if seenWhole {
                        // Another hub met the full disk and released the reserve.
                        dropped = true
                        if disk.markFull() {
                            self.logger.error("the database's disk is full (another hub released the reserve): writes of records are refused (503)")
                        }
                    } else if due {
                        lastFill = now
                        _ = await self.attemptFill(warned: &warned)
                    }
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkInterval) }
        }
    }

    /// Fills the reserve; returns whether it did (and then there is room).
    private func attemptFill(warned: inout Bool) async -> Bool {
        switch await self.fill() {
        case .filled:
            warned = false
            if self.database.disk.markRoom() { self.logger.notice("the database's disk has room again: writes are accepted") }
            return true
        case .diskFull:
            self.database.disk.markFull()
            return false
        case .failed(let error):
            if !warned {
                warned = true
                self.logger.warning("could not fill the disk reserve; will try again", metadata: ["error": "\(error)"])
            }
            return false
        }
    }

    enum Outcome {
        case filled, diskFull
        case failed(StorageError)
    }

    /// The reserve's size in bytes; 0 when it is missing; nil when the database cannot be asked.
    private func reserveSize() async -> Int64? {
        try? await self.database.withConnection("measure the disk reserve") { connection in
            let rows = try await connection.query(
                "SELECT COALESCE(pg_relation_size(to_regclass('storage_reserve')), 0)::bigint", logger: self.logger)
            for try await size in rows.decode(Int64.self) { return size }
            return 0
        }
    }

    private func release() async {
        do {
            try await self.database.withConnection("release the disk reserve") { connection in
                try await connection.run("DROP TABLE IF EXISTS storage_reserve", logger: self.logger)
            }
            self.logger.warning("released the disk reserve for the audit trail", metadata: ["megabytes": "\(self.megabytes)"])
        } catch {
            self.logger.warning("could not release the disk reserve", metadata: ["error": "\(error)"])
        }
    }

    /// Fills the reserve to its size, with a copy of it beside it until the commit.
    private func fill() async -> Outcome {
        let target = self.target
        do {
            let filled = try await self.database.withTransaction("fill the disk reserve", timeout: .seconds(300)) { connection in
                let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(hashtext('hub disk reserve'))", logger: self.logger)
                var mine = false
                for try await value in locked.decode(Bool.self) { mine = value }
                guard mine else { return false }  // another hub is filling it
                try await connection.run(
                    "CREATE TABLE IF NOT EXISTS storage_reserve (filler text NOT NULL) WITH (autovacuum_enabled = false)", logger: self.logger)
                // Stored as written: compressed or moved out of line it would hold less than it says.
                try await connection.run("ALTER TABLE storage_reserve ALTER COLUMN filler SET STORAGE PLAIN", logger: self.logger)
                var size = try await Self.size(on: connection, logger: self.logger)
                while size < target {
                    try await connection.run(Self.chunk(bytes: target - size), logger: self.logger)
                    size = try await Self.size(on: connection, logger: self.logger)
                }
                // As much again beside it until the commit: room beyond the reserve.
                try await connection.run(
                    "CREATE TEMPORARY TABLE disk_probe ON COMMIT DROP AS SELECT filler FROM storage_reserve", logger: self.logger)
                return true
            }
            return filled ? .filled : .failed(StorageError(.unavailable, "another hub is filling the disk reserve"))
        } catch let error as StorageError where error.isDiskFull {
            return .diskFull
        } catch let error as StorageError {
            return .failed(error)
        } catch {
            return .failed(StorageError(.queryFailed, "fill the disk reserve failed", underlying: error))
        }
    }

    /// At most about 8 MiB of incompressible text per statement, in rows of about 7,000
    /// characters (one to a page).
    static func chunk(bytes: Int64) -> PostgresQuery {
        let rows = max(1, min(1_152, (bytes + 6_999) / 7_000))
        return """
            INSERT INTO storage_reserve (filler)
            SELECT string_agg(md5(random()::text || g::text || i::text), '')
            FROM generate_series(1, \(rows)) AS g, generate_series(1, 218) AS i GROUP BY g
            """
    }

    static func size(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("SELECT pg_relation_size('storage_reserve')::bigint", logger: logger)
        for try await size in rows.decode(Int64.self) { return size }
        return 0
    }
}
