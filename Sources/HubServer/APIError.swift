public import HTTPTypes
public import HubFHIR
import Hummingbird

/// An error with a known HTTP answer.
///
/// Handlers and services throw these (or errors that map to them, see
/// ``ErrorResponseMiddleware``); the middleware renders them as a FHIR `OperationOutcome`
/// under `/fhir` and as a small JSON object elsewhere. `diagnostics` is sent to the client, so
/// it must never hold patient data or internal details.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: OperationOutcome.Issue.IssueType
    public var diagnostics: String
    public var expression: [String]?
    /// Issues reported after the first (e.g. every validation problem of a resource).
    public var additionalIssues: [OperationOutcome.Issue] = []
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status,
        code: OperationOutcome.Issue.IssueType,
        diagnostics: String,
        expression: [String]? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        self.headers = headers
    }

    public static func notFound(_ diagnostics: String) -> APIError {
        APIError(.notFound, code: .notFound, diagnostics: diagnostics)
    }

    public static func badRequest(_ diagnostics: String, expression: [String]? = nil) -> APIError {
        APIError(.badRequest, code: .invalid, diagnostics: diagnostics, expression: expression)
    }

    /// 503 with `Retry-After`, for a dependency that is down or slow.
    public static func unavailable(_ diagnostics: String, retryAfterSeconds: Int = 5) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfterSeconds)
        return APIError(.serviceUnavailable, code: .transient, diagnostics: diagnostics, headers: headers)
    }

    public static let internalError = APIError(
        .internalServerError,
        code: .exception,
        diagnostics: "internal error; the server log has details under this request's id"
    )
}
