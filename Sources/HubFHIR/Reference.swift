/// What a FHIR Reference's `reference` names, read strictly: the hub acts on `Type/id` (with an
/// optional `/_history/n`) and nothing looser, so that no other spelling of a patient can pass
/// for "no patient".
public enum ReferenceTarget: Sendable, Equatable {
    /// `Type/id` or `Type/id/_history/n` on this hub.
    case resource(type: String, id: String)
    /// `#id`: a resource contained in the referring one.
    case contained(id: String)
    /// An absolute URL not on this hub; `type` when its path ends in `Type/id[/_history/n]`.
    case external(url: String, type: String?)
    /// Something the hub cannot resolve: a `urn:` (a Bundle's placeholder, left unresolved), a
    /// conditional `Type?query`, or text that is no reference at all.
    case unresolvable(String)
    /// No `reference`: a logical reference (identifier) or a display text only.
    case none

    public init(_ reference: String?) {
        guard let reference else {
            self = .none
            return
        }
        if reference.hasPrefix("#") {
            let id = String(reference.dropFirst())
            self = FHIRPrimitive.isID(id) ? .contained(id: id) : .unresolvable(reference)
        } else if let (type, id) = Self.relative(reference) {
            self = .resource(type: type, id: id)
        } else if reference.contains("://"), !reference.contains("?") {
            let segments = reference.split(separator: "/", omittingEmptySubsequences: false)
            let tail = segments.count >= 4 && segments[segments.count - 2] == "_history" ? segments.dropLast(2) : segments[...]
            let type = tail.count >= 2 ? Self.relative(tail.suffix(2).joined(separator: "/"))?.type : nil
            self = .external(url: reference, type: type)
        } else {
            self = .unresolvable(reference)
        }
    }

    /// `(Type, id)` of `Type/id` or `Type/id/_history/n`.
    static func relative(_ reference: String) -> (type: String, id: String)? {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history" && FHIRPrimitive.isID(parts[3])) else { return nil }
        guard Self.isTypeName(parts[0]), FHIRPrimitive.isID(parts[1]) else { return nil }
        return (parts[0], parts[1])
    }

    /// A FHIR resource type's name: an upper-case ASCII letter, then ASCII letters.
    static func isTypeName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
    }
}

/// Makes references the hub stores relative: an absolute URL on one of the hub's own FHIR bases
/// (`https://hub.example/fhir/Patient/1`, also with `/_history/n`) becomes `Patient/1`, in the
/// resource and in its contained resources. One spelling per record, so that access control,
/// search and the audit trail never meet a second one.
public struct ReferenceCanonicalizer: Sendable, Equatable {
    /// The hub's FHIR bases, without a trailing slash (`https://hub.example/fhir`).
    public let bases: [String]

    public init(bases: [String]) {
        self.bases = bases.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// `reference` relative when it is on one of the hub's bases and names `Type/id`; unchanged
    /// otherwise.
    public func canonical(_ reference: String) -> String {
        for base in self.bases where reference.hasPrefix(base + "/") {
            let rest = String(reference.dropFirst(base.count + 1))
            if ReferenceTarget.relative(rest) != nil { return rest }
        }
        return reference
    }

    /// `resource` with every `reference` of every Reference made canonical.
    public func canonicalize(_ resource: JSONObject) -> JSONObject {
        guard case .object(let object) = self.canonicalize(.object(resource)) else { return resource }
        return object
    }

    func canonicalize(_ value: JSONValue) -> JSONValue {
        value.mappingReferences(self.canonical)
    }
}
