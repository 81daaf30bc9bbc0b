extension JSONValue {
    /// The id this FHIR Reference (`{"reference": "Type/id"}`, also `Type/id/_history/n`) names,
    /// when it names a resource of `type`; nil for anything else (another type, a URL, a
    /// `urn:uuid:`, no reference).
    public func referencedID(_ type: String) -> String? {
        guard let reference = self.objectValue?["reference"]?.stringValue else { return nil }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == type, !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }
}
