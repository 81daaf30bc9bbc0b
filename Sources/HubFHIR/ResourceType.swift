/// The FHIR resource types the hub stores, with what the engine needs to know of each.
///
/// Adding a type is a new case here plus its row in ``definition``: the store, the REST routes
/// and the CapabilityStatement are driven by this table.
public enum ResourceType: String, Sendable, CaseIterable, Codable {
    case patient = "Patient"
    case practitioner = "Practitioner"
    case practitionerRole = "PractitionerRole"
    case organization = "Organization"
    case encounter = "Encounter"
    case condition = "Condition"
    case procedure = "Procedure"
    case allergyIntolerance = "AllergyIntolerance"
    case medicationRequest = "MedicationRequest"
    case observation = "Observation"
    case diagnosticReport = "DiagnosticReport"
    case documentReference = "DocumentReference"
    case composition = "Composition"
    case appointment = "Appointment"
    case schedule = "Schedule"
    case slot = "Slot"
    case serviceRequest = "ServiceRequest"
    case task = "Task"
    case consent = "Consent"
    case provenance = "Provenance"
    case subscription = "Subscription"
    case group = "Group"

    /// What the engine knows of a type. Which patient a resource belongs to is
    /// ``PatientCompartment``'s, from the specification's compartment definition.
    public struct Definition: Sendable {
        /// Whether only the organization that wrote it may see it (a hospital's Subscriptions
        /// name its endpoints and their credentials; its Groups are its cohorts, whose membership
        /// says who is in a study or a programme); other resources outside every patient
        /// compartment are visible to every clinical caller.
        public var isPrivateToWriter = false
    }

    public var definition: Definition {
        switch self {
        case .subscription, .group: Definition(isPrivateToWriter: true)
        default: Definition()
        }
    }
}
