import Foundation
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
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let due = ContinuousClock.now - lastCheckpoint >= self.checkpointInterval
            if await self.step(checkpoint: due, report: failures == 0) {
                failures = 0
                if due { lastCheckpoint = .now }
            } else {
                failures += 1
            }
            // After a failure (database down, schema not migrated yet) wait longer, up to 10 s;
            // the records stay queued.
            let pause = failures == 0 ? self.interval : min(self.interval * (1 << min(failures, 6)), .seconds(10))
            try? await Task.sleep(for: pause)
        }
        // Nothing more at shutdown: what is queued is durable and is integrated at the next
        // start. (The database pool may already be stopping, and a lease on a stopped pool does
        // not end.)
    }

    /// One round: integrate until the queue is empty, then sign if asked. Returns whether it
    /// succeeded; a failure is logged once per run of failures.
    @discardableResult
    func step(checkpoint: Bool, report: Bool) async -> Bool {
        do {
            while try await self.log.integrate() > 0 {}
            if checkpoint { _ = try await self.log.checkpoint() }
            return true
        } catch {
            if report { self.logger.warning("audit log integration failed; will retry", metadata: ["error": "\(error)"]) }
            return false
        }
    }
}
