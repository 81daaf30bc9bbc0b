import Foundation
import HubStorage
public import Logging
public import ServiceLifecycle

/// Integrates queued audit records into the tree every `interval`, and signs a checkpoint every
/// `checkpointInterval` when the tree has grown. Records still queued at shutdown are
/// integrated after the next start.
public struct AuditSequencer: Service {
    let log: AuditLog
    let interval: Duration
    let checkpointInterval: Duration
    let logger: Logger

    public init(log: AuditLog, interval: Duration = .milliseconds(200), checkpointInterval: Duration = .seconds(10), logger: Logger) {
        self.log = log
        self.interval = interval
        self.checkpointInterval = checkpointInterval
        self.logger = logger
    }

    public func run() async throws {
        var lastCheckpoint = ContinuousClock.now
        // After a failure (database down, schema not migrated yet) wait longer, up to 10 s; the
        // records stay queued.
        var backoff = Backoff(interval: self.interval, ceiling: .seconds(10))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let due = ContinuousClock.now - lastCheckpoint >= self.checkpointInterval
            let decision: Backoff.Decision
            do {
                try await self.step(checkpoint: due)
                decision = backoff.succeeded()
                if due { lastCheckpoint = .now }
            } catch {
                decision = backoff.failed()
                if decision.report { self.logger.warning("audit log integration failed; will retry", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: decision.pause)
        }
        // Nothing more at shutdown: what is queued is durable and is integrated at the next
        // start. (The database pool may already be stopping, and a lease on a stopped pool does
        // not end.)
    }

    /// Records integrated in one transaction at most.
    static let batch = 5_000

    /// One round: integrate what is queued, then sign if asked. Another batch follows at once
    /// only while a full one was found (a backlog); otherwise the next round waits `interval`, so
    /// that records arriving meanwhile are integrated together. (Integrating as soon as anything
    /// was queued kept a transaction — and a WAL flush — running per few records under load,
    /// competing with the requests' own commits: issue #16.)
    func step(checkpoint: Bool) async throws {
        while try await self.log.integrate(limit: Self.batch) == Self.batch {}
        if checkpoint { _ = try await self.log.checkpoint() }
    }
}
