/// Why an identity operation or an access was refused, with the HTTP status it answers.
///
/// Messages go to the caller: they never name another organization's patients.
public struct AccessError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No usable credentials (HTTP 401).
        public static let unauthenticated = Code("unauthenticated")
        /// Known caller, not allowed (HTTP 403).
        public static let forbidden = Code("forbidden")
        /// A malformed request (HTTP 400).
        public static let invalid = Code("invalid")
        /// No such organization or principal (HTTP 404).
        public static let notFound = Code("notFound")
        /// It exists already (HTTP 409).
        public static let conflict = Code("conflict")
        /// Too many attempts in a while (HTTP 429, with `Retry-After`).
        public static let tooManyAttempts = Code("tooManyAttempts")

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
