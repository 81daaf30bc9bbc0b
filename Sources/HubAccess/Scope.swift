public import HubFHIR

/// A SMART on FHIR scope: `system/Observation.read`, `user/*.write`, `system/*.*` (SMART v1),
/// or the v2 form `user/Patient.rs`, `system/*.cruds`.
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    public enum Context: String, Sendable {
        case system, user
    }

    public var context: Context
    /// nil for every type (`*`).
    public var type: ResourceType?
    public var read: Bool
    public var write: Bool

    /// Parses one scope; nil for what is not a resource scope this hub grants.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let context = Context(rawValue: String(parts[0])) else { return nil }
        let rest = parts[1].split(separator: ".", maxSplits: 1)
        guard rest.count == 2 else { return nil }
        self.context = context
        if rest[0] == "*" {
            self.type = nil
        } else if let type = ResourceType(rawValue: String(rest[0])) {
            self.type = type
        } else {
            return nil
        }
        switch rest[1] {
        case "read": (self.read, self.write) = (true, false)
        case "write": (self.read, self.write) = (false, true)
        case "*": (self.read, self.write) = (true, true)
        default:
            // SMART v2: a subset of "cruds" in that order.
            let letters = String(rest[1])
            guard !letters.isEmpty, letters.allSatisfy("cruds".contains), letters == String("cruds".filter(letters.contains)) else { return nil }
            self.read = letters.contains("r") || letters.contains("s")
            self.write = letters.contains("c") || letters.contains("u") || letters.contains("d")
        }
    }

    public var description: String {
        "\(self.context.rawValue)/\(self.type?.rawValue ?? "*").\(self.read && self.write ? "*" : self.read ? "read" : "write")"
    }

    /// Whether holding this scope allows everything `other` allows (a token may be narrower
    /// than its principal: `user/Patient.read` within `user/*.*`).
    public func covers(_ other: Scope) -> Bool {
        self.context == other.context && (self.type == nil || self.type == other.type)
            && (self.read || !other.read) && (self.write || !other.write)
    }

    /// The types a set of scopes lets one read (or write); nil when it covers every type.
    public static func types(_ scopes: [Scope], write: Bool) -> Set<ResourceType>? {
        let granting = scopes.filter { write ? $0.write : $0.read }
        if granting.contains(where: { $0.type == nil }) { return nil }
        return Set(granting.compactMap(\.type))
    }
}
