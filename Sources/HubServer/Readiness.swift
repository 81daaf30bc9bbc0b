public import HubStorage

/// Whether the hub can serve requests now, and why not.
public struct Readiness: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        public var ok: Bool
        /// Operator-facing detail; never data.
        public var detail: String
    }

    public var checks: [Check]
    public var isReady: Bool { self.checks.allSatisfy(\.ok) }
}

/// Something `/readyz` asks before saying the hub is ready.
public protocol ReadinessCheck: Sendable {
    func check() async -> Readiness
}

/// Ready when the hub is not about to stop, the database answers and its schema matches the
/// migration files exactly.
///
/// A database the watch knows to be down is reported at once, without a query that could only
/// wait for its deadline.
public struct StorageReadiness: ReadinessCheck {
    let migrator: Migrator
    let health: DatabaseHealth
    let drain: DrainNotice

    public init(migrator: Migrator, health: DatabaseHealth, drain: DrainNotice = DrainNotice()) {
        self.migrator = migrator
        self.health = health
        self.drain = drain
    }

    public func check() async -> Readiness {
        guard !self.drain.isDraining else {
            return Readiness(checks: [.init(name: "shutdown", ok: false, detail: "draining: this hub is stopping")])
        }
        guard !self.health.isDown else {
            return Readiness(checks: [
                .init(name: "database", ok: false, detail: "unreachable"),
                .init(name: "migrations", ok: false, detail: "unknown"),
            ])
        }
        do {
            let status = try await self.migrator.status()
            let migrationsOK = status.isCurrent
            let detail: String
            if let problem = status.problems.first {
                detail = problem.message
            } else if !status.pending.isEmpty {
                detail = "\(status.pending.count) pending migration(s), from \(status.pending[0].label); run `hub migrate`"
            } else {
                detail = "\(status.applied.count) applied"
            }
            return Readiness(checks: [
                .init(name: "database", ok: true, detail: "reachable"),
                .init(name: "migrations", ok: migrationsOK, detail: detail),
            ])
        } catch {
            return Readiness(checks: [
                .init(name: "database", ok: false, detail: error.isTransient ? "unreachable" : "query failed"),
                .init(name: "migrations", ok: false, detail: "unknown"),
            ])
        }
    }
}
