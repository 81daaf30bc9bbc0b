import HTTPTypes
public import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (it can do useful work).
///
/// Orchestrators restart on a failing liveness check and stop routing on a failing readiness
/// check, so `/healthz` never touches the database: a database outage must not restart hubs.
public struct HealthRoutes<Context: RequestContext>: Sendable {
    let readiness: any ReadinessCheck

    public init(readiness: any ReadinessCheck) {
        self.readiness = readiness
    }

    public func add(to router: Router<Context>) {
        router.get("healthz") { _, _ in
            Response.json(["status": "ok"])
        }
        router.get("readyz") { _, _ in
            let readiness = await self.readiness.check()
            guard readiness.isReady else {
                var headers = HTTPFields()
                headers[.retryAfter] = "5"
                return Response.json(
                    ReadyBody(status: "unavailable", checks: readiness.checks),
                    status: .serviceUnavailable,
                    headers: headers
                )
            }
            return Response.json(ReadyBody(status: "ready", checks: readiness.checks))
        }
    }

    struct ReadyBody: Encodable {
        var status: String
        var checks: [Readiness.Check]
    }
}
