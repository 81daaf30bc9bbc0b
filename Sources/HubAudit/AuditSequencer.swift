import Foundation
public import Logging
public import ServiceLifecycle

/// Integrates queued audit records into the tree every `interval`, and signs a checkpoint every
/// `checkpointInterval` when the tree has grown. On shutdown it integrates what is queued and
/// signs a last checkpoint.
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
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await self.step(checkpoint: ContinuousClock.now - lastCheckpoint >= self.checkpointInterval)
            if ContinuousClock.now - lastCheckpoint >= self.checkpointInterval { lastCheckpoint = .now }
            try? await Task.sleep(for: self.interval)
        }
        await self.step(checkpoint: true)
    }

    /// One round: integrate until the queue is empty, then sign if asked. Failures are logged
    /// and retried next round: records stay queued, nothing is lost.
    func step(checkpoint: Bool) async {
        do {
            while try await self.log.integrate() > 0 {}
            if checkpoint { _ = try await self.log.checkpoint() }
        } catch {
            self.logger.warning("audit log integration failed; retrying", metadata: ["error": "\(error)"])
        }
    }
}
