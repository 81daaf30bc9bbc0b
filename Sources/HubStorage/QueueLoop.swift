public import Logging
import ServiceLifecycle

/// The loop of a service that drains a queue in the database (export jobs, open-data releases):
/// drain while there is work, then sleep the poll interval; after a failure (the database down,
/// not migrated yet) back off (``Backoff``) and log the first failure of a run. It ends at the
/// hub's graceful shutdown, without waiting out a long pause.
public struct QueueLoop: Sendable {
    public let pollInterval: Duration
    /// What the warning of a failed round says, e.g. "export round failed; will retry".
    public let failure: String
    let logger: Logger

    public init(pollInterval: Duration, failure: String, logger: Logger) {
        self.pollInterval = pollInterval
        self.failure = failure
        self.logger = logger
    }

    /// Runs rounds until shutdown: `housekeeping` first in a round when `every` has passed since
    /// it last ran, then `next` until it reports no work (false).
    public func run(
        every: Duration = .seconds(60),
        housekeeping: @Sendable () async throws -> Void = {},
        next: @Sendable () async throws -> Bool
    ) async {
        var backoff = Backoff(interval: self.pollInterval, ceiling: .seconds(10))
        var lastHousekeeping = ContinuousClock.now - every - .seconds(1)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let decision: Backoff.Decision
            do {
                if ContinuousClock.now - lastHousekeeping > every {
                    try await housekeeping()
                    lastHousekeeping = .now
                }
                while !Task.isShuttingDownGracefully, !Task.isCancelled, try await next() {
                    // A queue that never empties still gets its housekeeping.
                    if ContinuousClock.now - lastHousekeeping > every {
                        try await housekeeping()
                        lastHousekeeping = .now
                    }
                }
                decision = backoff.succeeded()
            } catch {
                decision = backoff.failed()
                if decision.report { self.logger.warning("\(self.failure)", metadata: ["error": "\(error)"]) }
            }
            // A long poll interval must not hold up the hub's shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: decision.pause) }
        }
    }
}
