import HubConfig
public import Hummingbird
public import Metrics

/// Counts requests and times them by route template, method and status.
///
/// Metrics go to the factory passed in (the hub's Prometheus registry), not to the process-wide
/// `MetricsSystem`, so each application — and each test — has its own figures.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // Unmatched paths share one label: raw paths would make label cardinality unbounded.
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [
            ("route", route), ("method", request.method.rawValue), ("status", String(response.status.code)),
        ]
        Counter(label: "hub_http_requests_total", dimensions: dimensions, factory: self.factory).increment()
        let elapsed = ContinuousClock.now - start
        Timer(label: "hub_http_request_duration_seconds", dimensions: dimensions, factory: self.factory)
            .recordNanoseconds(elapsed.wholeNanoseconds)
        return response
    }
}
