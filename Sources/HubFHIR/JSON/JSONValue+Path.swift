extension JSONValue {
    /// The values at a path of member names below this value, arrays flattened at every step
    /// (`participant.actor` of an Appointment: every participant's actor).
    public func values(at path: [String]) -> [JSONValue] {
        guard let first = path.first else { return self.elements }
        return self.elements.flatMap { element -> [JSONValue] in
            guard let child = element.objectValue?[first] else { return [] }
            return child.values(at: Array(path.dropFirst()))
        }
    }
}
