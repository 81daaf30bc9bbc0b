public import HTTPTypes
import HubConfig
public import Hummingbird
import Logging

/// Returns the request's id as `X-Request-Id` and logs one line per request.
///
/// The id is the one Hummingbird puts in the request's logger metadata, so every log line about
/// the request carries it. The log line names the route *template* (`/fhir/Patient/{id}`), never
/// the path or query, which can hold identifiers of patients.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - start
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)",
                "route": "\(context.endpointPath ?? "(unmatched)")",
                "status": "\(response.status.code)",
                "duration_us": "\(elapsed.wholeNanoseconds / 1000)",
            ]
        )
        return response
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`: lets a hospital quote a request when reporting a problem.
    public static let requestID = HTTPField.Name("X-Request-Id")!
}
