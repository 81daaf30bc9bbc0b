/// FHIR R4 `OperationOutcome`: the body of every error the FHIR API returns.
///
/// Diagnostics are written for the client's developers and must never echo patient data or
/// internal details (SQL, stack traces); those go to the server log under the request id.
public struct OperationOutcome: Codable, Sendable, Equatable {
    public var resourceType: String = "OperationOutcome"
    public var issue: [Issue]

    public init(issue: [Issue]) {
        self.issue = issue
    }

    /// An outcome with a single error issue.
    public init(severity: Issue.Severity = .error, code: Issue.IssueType, diagnostics: String, expression: [String]? = nil) {
        self.issue = [Issue(severity: severity, code: code, diagnostics: diagnostics, expression: expression)]
    }

    public struct Issue: Codable, Sendable, Equatable {
        public var severity: Severity
        public var code: IssueType
        public var diagnostics: String?
        /// FHIRPath expressions of the elements at fault (`Patient.identifier[0].value`).
        public var expression: [String]?

        public init(severity: Severity, code: IssueType, diagnostics: String? = nil, expression: [String]? = nil) {
            self.severity = severity
            self.code = code
            self.diagnostics = diagnostics
            self.expression = expression
        }

        /// http://hl7.org/fhir/R4/valueset-issue-severity.html
        public enum Severity: String, Codable, Sendable {
            case fatal, error, warning, information
        }

        /// The subset of http://hl7.org/fhir/R4/valueset-issue-type.html the hub uses.
        public enum IssueType: String, Codable, Sendable {
            case invalid, structure, required, value, invariant
            case security, login, unknown, expired, forbidden, suppressed
            case processing
            case notSupported = "not-supported"
            case duplicate
            case multipleMatches = "multiple-matches"
            case notFound = "not-found"
            case deleted
            case tooLong = "too-long"
            case codeInvalid = "code-invalid"
            case `extension`
            case tooCostly = "too-costly"
            case businessRule = "business-rule"
            case conflict
            case transient
            case lockError = "lock-error"
            case noStore = "no-store"
            case exception
            case timeout
            case incomplete
            case throttled
            case informational
        }
    }
}
