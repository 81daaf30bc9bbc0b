import HubFHIR
public import Hummingbird

/// Refuses requests larger than the hub takes, before any handler reads them: a target URI over
/// ``RequestHeadLimits/uriBytes`` (414), header fields over ``RequestHeadLimits/headerBytes``
/// (431), a body over `server.max_body_bytes` (413).
///
/// A declared `Content-Length` over the limit is refused without reading; a chunked body is
/// collected up to the limit and refused as soon as it passes it, so no handler ever holds more.
public struct RequestLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    public init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let uriBytes = request.uri.string.utf8.count
        guard uriBytes <= RequestHeadLimits.uriBytes else {
            throw APIError(
                .uriTooLong,
                code: .tooLong,
                diagnostics:
                    "the request URI has \(uriBytes) bytes, more than the \(RequestHeadLimits.uriBytes) the hub takes: send a long search as POST [type]/_search with a form body"
            )
        }
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
        guard headerBytes <= RequestHeadLimits.headerBytes else {
            throw APIError(
                .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
                code: .tooLong,
                diagnostics: "the header fields have \(headerBytes) bytes, more than the \(RequestHeadLimits.headerBytes) the hub takes"
            )
        }
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > self.maxBodyBytes {
            throw APIError(
                .contentTooLarge,
                code: .tooLong,
                diagnostics: "request body of \(declared) bytes exceeds the limit of \(self.maxBodyBytes)"
            )
        }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            do {
                _ = try await request.collectBody(upTo: self.maxBodyBytes)
            } catch {
                throw APIError(
                    .contentTooLarge,
                    code: .tooLong,
                    diagnostics: "request body exceeds the limit of \(self.maxBodyBytes) bytes"
                )
            }
        }
        return try await next(request, context)
    }
}
