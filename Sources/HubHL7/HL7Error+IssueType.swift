public import HubFHIR

extension HL7Error.Condition {
    /// The FHIR issue type of a table 0357 condition: how the audit trail, which speaks FHIR's
    /// terms for every transport, records a message refused with it.
    public var issueType: OperationOutcome.Issue.IssueType {
        switch self {
        case .segmentSequenceError: .structure
        case .requiredFieldMissing: .required
        case .dataTypeError: .value
        case .tableValueNotFound: .codeInvalid
        case .unsupportedMessageType, .unsupportedVersion: .notSupported
        case .unknownKeyIdentifier: .notFound
        case .applicationError: .processing
        }
    }
}
