public import Hummingbird

/// Refuses (400) a path in any but its one spelling: empty segments (`//fhir/Patient`), `.` and
/// `..` segments. The router would match such a path to a handler, while decisions made on the
/// path — which APIs need an identity, which are audited (``ProtectedAPI``) — would not; so no
/// other spelling gets past this, the first middleware.
public struct CanonicalPathMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.isCanonical(request.uri.path) else {
            return ErrorResponseMiddleware.response(
                for: .badRequest("the path is not in its canonical form (no empty, \".\" or \"..\" segments)"),
                fhir: true
            )
        }
        return try await next(request, context)
    }

    static func isCanonical(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        return !segments.dropLast().contains { $0.isEmpty || $0 == "." || $0 == ".." }
            && segments.last.map { $0 != "." && $0 != ".." } ?? true
    }
}
