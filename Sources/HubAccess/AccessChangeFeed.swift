public import HubStorage
public import Logging
import PostgresNIO
public import ServiceLifecycle

/// Keeps ``GrantCache`` honest: listens to `hub_access_changed` (announced by triggers on every
/// change of tokens, principals and organizations — migration 0013) and empties the cache at
/// each announcement.
///
/// The cache serves only while this feed is known to hear: from the moment `LISTEN` is in force,
/// until the listening connection fails or stops answering its heartbeat (``Database/listen(_:heartbeat:_:)``).
/// So a change made while this hub could not listen is never served from the cache; at worst, a
/// connection that dies silently keeps the cache serving for a heartbeat and its deadline (the
/// deadline is generous: a busy database must not turn the cache off for nothing).
public struct AccessChangeFeed: Service {
    static let channel = "hub_access_changed"

    let database: Database
    let grants: GrantCache
    let heartbeat: Duration
    let answerWithin: Duration
    let logger: Logger

    public init(
        database: Database, grants: GrantCache, heartbeat: Duration = .seconds(1), answerWithin: Duration = .seconds(5), logger: Logger
    ) {
        self.database = database
        self.grants = grants
        self.heartbeat = heartbeat
        self.answerWithin = answerWithin
        self.logger = logger
    }

    /// Listens until the service group shuts down, listening again after a failure (with
    /// back-off, up to 10 s); the cache does not serve in between.
    public func run() async throws {
        var backoff = Backoff(interval: .milliseconds(100), ceiling: .seconds(10))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                // Cancelled at shutdown: the lease must end before the pool stops.
                try await cancelWhenGracefulShutdown {
                    try await self.listen()
                }
                _ = backoff.succeeded()
            } catch {
                self.grants.suspend()
                guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
                let decision = backoff.failed()
                if decision.report {
                    self.logger.warning(
                        "not hearing access changes: credentials are looked up at every request until listening again",
                        metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: decision.pause)
            }
        }
        self.grants.suspend()
    }

    /// One listening session: returns or throws when it ends, the cache suspended by the caller.
    func listen() async throws {
        let grants = self.grants
        try await self.database.listen(Self.channel, heartbeat: self.heartbeat, answerWithin: self.answerWithin) { notifications in
            grants.resume()
            defer { grants.suspend() }
            for try await _ in notifications { grants.invalidate() }
            throw StorageError(.unavailable, "the access-change notifications ended")
        }
    }
}
