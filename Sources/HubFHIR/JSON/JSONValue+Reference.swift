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

extension JSONValue {
    /// This value with the `reference` of every Reference in it (at any depth, contained
    /// resources included) replaced by `transform` of it.
    public func mappingReferences(_ transform: (String) -> String) -> JSONValue {
        switch self {
        case .array(let values):
            return .array(values.map { $0.mappingReferences(transform) })
        case .object(let object):
            var result = object
            for member in object.members {
                if member.key == "reference", case .string(let reference) = member.value {
                    result[member.key] = .string(transform(reference))
                } else if case .object = member.value {
                    result[member.key] = member.value.mappingReferences(transform)
                } else if case .array = member.value {
                    result[member.key] = member.value.mappingReferences(transform)
                }
            }
            return .object(result)
        default:
            return self
        }
    }
}
