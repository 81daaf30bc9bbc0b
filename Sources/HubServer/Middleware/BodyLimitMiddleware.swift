import HubFHIR
public import Hummingbird

/// Refuses request bodies over `server.max_body_bytes` with 413, before any handler reads them.
///
/// A declared `Content-Length` over the limit is refused without reading; a chunked body is
/// collected up to the limit and refused as soon as it passes it, so no handler ever holds more.
public struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > self.maxBytes {
            throw APIError(
                .contentTooLarge,
                code: .tooLong,
                diagnostics: "request body of \(declared) bytes exceeds the limit of \(self.maxBytes)"
            )
        }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            do {
                _ = try await request.collectBody(upTo: self.maxBytes)
            } catch {
                throw APIError(
                    .contentTooLarge,
                    code: .tooLong,
                    diagnostics: "request body exceeds the limit of \(self.maxBytes) bytes"
                )
            }
        }
        return try await next(request, context)
    }
}
