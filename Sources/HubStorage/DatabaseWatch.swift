public import Logging
import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Keeps ``DatabaseHealth`` true to the database: a connection of its own, outside the pool,
/// that must answer a `SELECT 1` every `interval` within `answerWithin`.
///
/// A database that crashes or stops closes this connection at once, and the watch reconnects at
/// once: when that fails too, the database is down — usually within milliseconds of it going
/// away, where a request would otherwise wait out its whole deadline for a pooled connection.
/// A single failure is not enough (an operator may terminate this very backend). While down,
/// the watch tries again every `retryInterval`; the first answer marks the database up.
public struct DatabaseWatch: Service {
    let database: Database
    let interval: Duration
    let answerWithin: Duration
    let retryInterval: Duration
    let logger: Logger

    public init(
        database: Database,
        interval: Duration = .milliseconds(500),
        answerWithin: Duration = .seconds(5),
        retryInterval: Duration = .milliseconds(250),
        logger: Logger
    ) {
        self.database = database
        self.interval = interval
        self.answerWithin = answerWithin
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public func run() async throws {
        var failuresInARow = 0
        var lastImmediateRetry: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let answered = Answered()
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.watch(answered)
                }
            } catch {
                guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
                guard Self.meansUnreachable(error) else {
                    // Refused for a reason of its own (too many connections, authentication):
                    // the pool's connections may well be working; not evidence of an outage.
                    failuresInARow = 0
                    self.logger.warning("the database watch could not connect", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: self.retryInterval * 4)
                    continue
                }
                failuresInARow = answered.value ? 1 : failuresInARow + 1
                // The first failure is retried at once (at most once a second: a connection
                // that answers and dies must not make this a busy loop).
                let now = ContinuousClock.now
                if failuresInARow == 1, lastImmediateRetry.map({ now - $0 > .seconds(1) }) ?? true {
                    lastImmediateRetry = now
                    continue
                }
                if failuresInARow >= 2, self.database.health.record(.down) {
                    self.logger.error(
                        "database unreachable: requests are answered 503 until it returns",
                        metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.retryInterval)
            }
        }
    }

    /// Whether `error` says the database cannot be reached: the connection refused, reset or
    /// closed, the server shutting down or starting up, no answer in time.
    static func meansUnreachable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError, error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        }
        let code = StorageError.classify(error, operation: "database watch").code
        return code == .unavailable || code == .timeout
    }

    /// One connection's watch: returns or throws when the connection fails or the task is
    /// cancelled; `answered` is set at the first answer.
    private func watch(_ answered: Answered) async throws {
        let connection = try await self.database.connectOutsideThePool(name: "health-records-hub: database watch", logger: self.logger)
        let health = self.database.health
        let logger = self.logger
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await connection.closeFuture.get()
                throw StorageError(.unavailable, "the database watch's connection closed")
            }
            group.addTask {
                while true {
                    try await self.database.withDeadline("database watch", timeout: self.answerWithin) {
                        try await connection.run("SELECT 1", logger: logger)
                    }
                    if health.record(.up) { logger.notice("database reachable") }
                    answered.set()
                    try await Task.sleep(for: self.interval)
                }
            }
            do {
                try await group.next()
            } catch {
                // Closing ends the first child; the second is cancelled (a statement on a closed
                // connection never answers, but its deadline ends the wait).
                group.cancelAll()
                try? await connection.close()
                throw error
            }
        }
    }
}

/// Whether a watched connection answered at least once (its failure then starts a new count).
private final class Answered: Sendable {
    private let flag = Atomic<Bool>(false)

    var value: Bool { self.flag.load(ordering: .relaxed) }

    func set() { self.flag.store(true, ordering: .relaxed) }
}
