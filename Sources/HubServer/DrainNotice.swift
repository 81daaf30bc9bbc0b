public import Logging
public import ServiceLifecycle
import Synchronization

/// That the hub is about to stop, announced before it stops serving.
///
/// Behind a load balancer, a hub that closes its listener the moment it is told to stop fails
/// the requests the balancer still sends it until its next health check. So on SIGTERM `/readyz`
/// answers 503 ("draining") first, while every request is still served in full; only after
/// `server.drain_delay_seconds` does the listener close and in-flight requests drain.
public final class DrainNotice: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { self.draining.load(ordering: .acquiring) }

    func begin() { self.draining.store(true, ordering: .releasing) }
}

/// The service that turns a graceful shutdown into a ``DrainNotice`` and a delay. Placed after
/// the application in the service group: the group shuts services down in reverse order, so the
/// application hears of the shutdown only once this delay is over.
public struct ReadinessWithdrawal: Service {
    let notice: DrainNotice
    let delay: Duration
    let logger: Logger

    public init(notice: DrainNotice, delay: Duration, logger: Logger) {
        self.notice = notice
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        // Returns when a graceful shutdown begins; throws when the group is cancelled instead.
        try await gracefulShutdown()
        self.notice.begin()
        guard self.delay > .zero else { return }
        self.logger.notice("draining: /readyz answers 503 until the listener closes", metadata: ["delay": "\(self.delay)"])
        try? await Task.sleep(for: self.delay)
    }
}
