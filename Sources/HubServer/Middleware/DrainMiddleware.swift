import HTTPTypes
public import Hummingbird

/// While the hub drains (``DrainNotice``), every answer says `Connection: close`: a client
/// leaves its kept-alive connection after this answer and opens the next one through the load
/// balancer, to a hub that is staying — instead of sending a request on a connection the
/// listener is about to close under it.
public struct DrainMiddleware<Context: RequestContext>: RouterMiddleware {
    let notice: DrainNotice

    public init(notice: DrainNotice) {
        self.notice = notice
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        if self.notice.isDraining { response.headers[.connection] = "close" }
        return response
    }
}
