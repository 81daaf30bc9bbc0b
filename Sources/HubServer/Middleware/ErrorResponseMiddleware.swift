import HTTPTypes
import HubAccess
import HubAudit
import HubCrypto
import HubFHIR
import HubResources
import HubStorage
public import Hummingbird
import Logging

/// Turns every error thrown below it into a deliberate response.
///
/// Hummingbird turns unknown errors into empty 500s logged only at debug level; here each error
/// becomes a FHIR `OperationOutcome` (under `/fhir`) or a JSON error, with the right status, and
/// anything unexpected is logged with its details under the request id — never sent out. The
/// issue type answered is noted for the audit trail (``RequestAudit/failed(_:)``).
public struct ErrorResponseMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    public init() {}

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, context: context)
            context.audit.failed(apiError.code)
            let isFHIR = request.uri.path == "/fhir" || request.uri.path.hasPrefix("/fhir/")
            return Self.response(for: apiError, fhir: isFHIR)
        }
    }

    static func apiError(for error: any Error, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ResourceError:
            var apiError = APIError(
                HTTPResponse.Status(code: error.code.httpStatus), code: error.issueType, diagnostics: error.diagnostics, expression: error.expression)
            apiError.additionalIssues = error.additionalIssues
            return apiError
        case let error as CryptographyError where error.code == .erased:
            // A record whose patient was crypto-erased: gone for good.
            context.logger.notice("record unreadable", metadata: ["error": "\(error)"])
            return APIError(.gone, code: .deleted, diagnostics: "the record is no longer available (erased)")
        case let error as StorageError:
            if error.isTransient {
                context.logger.warning("database unavailable", metadata: ["error": "\(error)"])
                return .unavailable("the database is unavailable; retry later")
            }
            if error.code == .conflict {
                return APIError(.conflict, code: .conflict, diagnostics: "the change conflicted with another; retry")
            }
            context.logger.error("storage failure", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        case let error as AttemptLimiter.Exceeded:
            var headers = HTTPFields()
            headers[.retryAfter] = String(error.retryAfterSeconds)
            return APIError(.tooManyRequests, code: .throttled, diagnostics: error.description, headers: headers)
        case let error as AccessError:
            var headers = HTTPFields()
            if error.code == .unauthenticated { headers[.wwwAuthenticate] = #"Bearer realm="hub""# }
            if error.code == .tooManyAttempts { headers[.retryAfter] = String(error.retryAfterSeconds ?? 60) }
            return APIError(.init(code: error.code.httpStatus), code: error.code.issueType, diagnostics: error.message, headers: headers)
        case AuditLogError.beyondLog(let size):
            return APIError(.notFound, code: .notFound, diagnostics: "the audit log has fewer than \(size) records")
        case let error as AuditLogError:
            context.logger.error("audit log inconsistent", metadata: ["error": "\(error)"])
            return .internalError
        case let error as any HTTPResponseError:
            // Hummingbird's own errors: unknown route (404), body too large (413), bad request.
            return APIError(error.status, code: Self.issueType(for: error.status), diagnostics: Self.sentence(for: error.status))
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    static func response(for error: APIError, fhir: Bool) -> Response {
        if fhir {
            var outcome = OperationOutcome(code: error.code, diagnostics: error.diagnostics, expression: error.expression)
            outcome.issue += error.additionalIssues
            return .json(outcome, status: error.status, contentType: HubMediaType.fhirJSON, headers: error.headers)
        }
        let body = PlainError(
            error: .init(status: Int(error.status.code), code: error.code.rawValue, message: error.diagnostics)
        )
        return .json(body, status: error.status, headers: error.headers)
    }

    static func issueType(for status: HTTPResponse.Status) -> OperationOutcome.Issue.IssueType {
        switch status.code {
        case 404: .notFound
        case 401: .login
        case 403: .forbidden
        case 409, 412: .conflict
        case 413: .tooLong
        case 429: .throttled
        case 405, 501: .notSupported
        case 503: .transient
        case 400..<500: .invalid
        default: .exception
        }
    }

    static func sentence(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: "no such endpoint"
        case 413: "request body too large"
        default: status.reasonPhrase
        }
    }

    /// The error body outside `/fhir`: `{"error": {"status": 404, "code": "not-found", "message": "…"}}`.
    struct PlainError: Encodable {
        struct Detail: Encodable {
            var status: Int
            var code: String
            var message: String
        }
        var error: Detail
    }
}
