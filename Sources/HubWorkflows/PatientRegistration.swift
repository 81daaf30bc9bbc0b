public import HubFHIR
import HubResourcesCore

/// Registration by resident ID card: a hospital presents the Patient as the card shows it, with
/// `If-None-Exist: identifier=<resident-id system>|<number>`, and the hub finds that patient
/// wherever they were registered, relating the hospital to them (docs/security.md).
///
/// Because it reaches beyond what the hospital sees, it is held tight: exactly one valid number,
/// the one the presented Patient carries; and a match counts only when the presented name and
/// birth date are the registered ones — a number alone, guessed or read off a list, finds
/// nobody. (Attempts are also limited per caller, by the HTTP layer.)
public struct PatientRegistration: Sendable {
    public let residentIDSystem: String

    public init(residentIDSystem: String) {
        self.residentIDSystem = residentIDSystem
    }

    /// Why a registration request is refused (400).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The one resident-ID token a registration searches for (`system|number`), or nil when the
    /// condition is not a registration (it names no resident ID).
    public func condition(_ type: ResourceType, _ parameters: [(String, String)], _ resource: JSONObject) throws(Refusal) -> String? {
        let system = self.residentIDSystem
        guard type == .patient, parameters.contains(where: { $0.1.contains(system) }) else { return nil }
        let refuse = Refusal(
            description:
                "a registration by resident ID card is If-None-Exist: identifier=\(system)|<number>, with one valid number that the Patient carries"
        )
        guard parameters.count == 1, parameters[0].0 == "identifier", parameters[0].1.hasPrefix(system + "|") else { throw refuse }
        let number = String(parameters[0].1.dropFirst(system.count + 1))
        guard !number.contains(","), ResidentIDNumber.problem(with: number) == nil else { throw refuse }
        let carried = (resource["identifier"]?.arrayValue ?? []).contains { identifier in
            identifier.objectValue?["system"]?.stringValue == system && identifier.objectValue?["value"]?.stringValue == number
        }
        guard carried else { throw refuse }
        return "\(system)|\(number)"
    }

    /// Whether the presented Patient is the registered one as the card shows them: the same
    /// birth date, and one name in common (its text, or family and given names in either order;
    /// spaces, case and full-width forms ignored).
    public static func particularsMatch(presented: JSONObject, registered: JSONObject) -> Bool {
        guard let birthDate = presented["birthDate"]?.stringValue, birthDate == registered["birthDate"]?.stringValue else { return false }
        return !Self.names(presented).isDisjoint(with: Self.names(registered))
    }

    /// Every spelling of the resource's names that a match accepts.
    static func names(_ resource: JSONObject) -> Set<String> {
        var spellings: Set<String> = []
        for name in resource["name"]?.arrayValue ?? [] {
            guard let name = name.objectValue else { continue }
            if let text = name["text"]?.stringValue { spellings.insert(Self.folded(text)) }
            let family = name["family"]?.stringValue ?? ""
            let given = (name["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined()
            guard !family.isEmpty || !given.isEmpty else { continue }
            spellings.insert(Self.folded(family + given))
            spellings.insert(Self.folded(given + family))
        }
        spellings.remove("")
        return spellings
    }

    /// Without spaces or dots, lower case, full-width forms as their ASCII ones.
    static func folded(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // U+FF01…U+FF5E are the full-width forms of U+0021…U+007E.
            let narrow = (0xFF01...0xFF5E).contains(scalar.value) ? Unicode.Scalar(scalar.value - 0xFEE0) ?? scalar : scalar
            guard !narrow.properties.isWhitespace, narrow != ".", narrow != "·" else { continue }
            scalars.append(narrow)
        }
        return String(scalars).lowercased()
    }
}
