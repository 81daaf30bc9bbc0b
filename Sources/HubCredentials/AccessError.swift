public import HubFHIR

/// Why an identity operation or an access was refused.
///
/// Each code knows the HTTP status that answers it and its FHIR issue type — the one table REST,
/// the token endpoint, MLLP and the audit trail read. Messages go to the caller: they never name
/// another organization's patients.
public struct AccessError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// The HTTP status code that answers it.
        public let httpStatus: Int
        /// Its FHIR issue type (OperationOutcome, audit records).
        public let issueType: OperationOutcome.Issue.IssueType
        private init(_ name: String, _ httpStatus: Int, _ issueType: OperationOutcome.Issue.IssueType) {
            self.name = name
            self.httpStatus = httpStatus
            self.issueType = issueType
        }

        /// No usable credentials (HTTP 401).
        public static let unauthenticated = Code("unauthenticated", 401, .login)
        /// Known caller, not allowed (HTTP 403).
        public static let forbidden = Code("forbidden", 403, .forbidden)
        /// A malformed request (HTTP 400).
        public static let invalid = Code("invalid", 400, .invalid)
        /// No such organization or principal (HTTP 404).
        public static let notFound = Code("notFound", 404, .notFound)
        /// It exists already (HTTP 409).
        public static let conflict = Code("conflict", 409, .conflict)
        /// Too many attempts in a while (HTTP 429, with `Retry-After`).
        public static let tooManyAttempts = Code("tooManyAttempts", 429, .throttled)

        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    /// The OAuth 2 error code, for the token endpoint (`invalid_client`, `invalid_scope`, …).
    public var oauthError: String?
    /// For ``Code/tooManyAttempts``: when the caller may try again.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, oauthError: String? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.oauthError = oauthError
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(self.code): \(self.message)" }
}
