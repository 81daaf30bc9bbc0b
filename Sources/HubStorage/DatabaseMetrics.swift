import HubConfig
import Metrics

/// Figures about the pool and the operations run through it, exported at `/metrics`.
///
/// PostgresNIO keeps its pool's state to itself, so these are counted at ``Database``'s
/// boundary: operations in flight (connections leased or awaited), how long they take,
/// and why they failed.
struct DatabaseMetrics: Sendable {
    let inFlight: Meter
    let maximumConnections: Gauge
    let factory: any MetricsFactory

    init(factory: any MetricsFactory, maximumConnections: Int) {
        self.factory = factory
        self.inFlight = Meter(label: "hub_db_operations_in_flight", factory: factory)
        self.maximumConnections = Gauge(label: "hub_db_pool_max_connections", factory: factory)
        self.maximumConnections.record(maximumConnections)
    }

    func recordDuration(_ duration: Duration, outcome: String) {
        Timer(label: "hub_db_operation_duration_seconds", dimensions: [("outcome", outcome)], factory: self.factory)
            .recordNanoseconds(duration.wholeNanoseconds)
    }
}
