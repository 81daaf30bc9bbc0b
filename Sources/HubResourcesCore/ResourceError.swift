public import HubFHIR

/// Why a resource operation was refused, with what the HTTP layer needs to answer it.
///
/// `diagnostics` go to the client: they name elements and rules, never other patients' data.
public struct ResourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, and the one place that says which HTTP status answers it — for REST
    /// (`ErrorResponseMiddleware`) and for a Bundle entry's `response.status` alike.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// The HTTP status code that answers it.
        public let httpStatus: Int
        let reason: String
        private init(_ name: String, _ httpStatus: Int, _ reason: String) {
            self.name = name
            self.httpStatus = httpStatus
            self.reason = reason
        }

        /// Malformed request or resource (HTTP 400).
        public static let invalid = Code("invalid", 400, "Bad Request")
        /// Well-formed, but breaks a profile rule (HTTP 422).
        public static let unprocessable = Code("unprocessable", 422, "Unprocessable Entity")
        /// No such resource (HTTP 404).
        public static let notFound = Code("notFound", 404, "Not Found")
        /// The resource was deleted (HTTP 410).
        public static let gone = Code("gone", 410, "Gone")
        /// Conflicts with existing data, e.g. a second Patient with one resident ID (HTTP 409).
        public static let conflict = Code("conflict", 409, "Conflict")
        /// `If-Match` names a version that is not current (HTTP 412).
        public static let preconditionFailed = Code("preconditionFailed", 412, "Precondition Failed")
        /// The caller may not do this with these records (HTTP 403): no care relationship or
        /// consent for a patient it writes to.
        public static let forbidden = Code("forbidden", 403, "Forbidden")
        /// The interaction is not supported here, e.g. update of a resource that does not exist:
        /// ids are assigned by the hub (HTTP 405).
        public static let methodNotAllowed = Code("methodNotAllowed", 405, "Method Not Allowed")

        /// FHIR's `Bundle.entry.response.status`: the code and its reason phrase.
        public var statusLine: String { "\(self.httpStatus) \(self.reason)" }

        public var description: String { self.name }
    }

    public var code: Code
    public var issueType: OperationOutcome.Issue.IssueType
    public var diagnostics: String
    /// FHIRPath of the element at fault, e.g. `Patient.identifier[0].value`.
    public var expression: [String]?
    /// Further problems found in the same resource, reported together.
    public var additionalIssues: [OperationOutcome.Issue] = []
    /// Which of a run of writes failed (its position in the list the store was given).
    public package(set) var entry: Int?
    /// For a conflict on a unique identifier: the Patient that has it — for the audit trail
    /// only, never in the answer.
    package var conflictingPatient: String?

    public init(_ code: Code, _ issueType: OperationOutcome.Issue.IssueType, _ diagnostics: String, expression: [String]? = nil) {
        self.code = code
        self.issueType = issueType
        self.diagnostics = diagnostics
        self.expression = expression
    }

    public var description: String { "\(self.code): \(self.diagnostics)" }
}
