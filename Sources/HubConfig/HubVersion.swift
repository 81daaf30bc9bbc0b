/// The hub's release, reported by `hub version`, `hubctl version` and the CapabilityStatement.
public enum HubVersion {
    public static let current = "0.1.0"
    /// The FHIR release the API implements.
    public static let fhirVersion = "4.0.1"
}
