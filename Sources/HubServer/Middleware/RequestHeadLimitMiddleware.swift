import HTTPTypes
import HubFHIR
public import Hummingbird

/// Refuses a request whose target URI is over ``RequestHeadLimits/uriBytes`` (414) or whose
/// header fields are over ``RequestHeadLimits/headerBytes`` (431) — first, before the request is
/// authenticated, audited or routed, so that nothing downstream spends work or log space on it.
/// It answers by itself (an OperationOutcome under `/fhir`, a JSON error elsewhere), as the
/// error middleware would.
public struct RequestHeadLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let refusal = Self.refusal(request) else { return try await next(request, context) }
        let path = request.uri.path
        return ErrorResponseMiddleware.response(for: refusal, fhir: path == "/fhir" || path.hasPrefix("/fhir/"))
    }

    static func refusal(_ request: Request) -> APIError? {
        let uriBytes = request.uri.string.utf8.count
        if uriBytes > RequestHeadLimits.uriBytes {
            return APIError(
                .uriTooLong,
                code: .tooLong,
                diagnostics:
                    "the request URI has \(uriBytes) bytes, more than the \(RequestHeadLimits.uriBytes) the hub takes: send a long search as POST [type]/_search with a form body"
            )
        }
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
        if headerBytes > RequestHeadLimits.headerBytes {
            return APIError(
                .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
                code: .tooLong,
                diagnostics: "the header fields have \(headerBytes) bytes, more than the \(RequestHeadLimits.headerBytes) the hub takes"
            )
        }
        return nil
    }
}
