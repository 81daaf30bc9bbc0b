/// Reading the elements hubctl shows out of FHIR JSON (as `JSONSerialization` gives it).
enum FHIRFields {
    /// A HumanName as written in Chinese (family name first, no space) unless it has a text.
    static func name(_ resource: [String: Any]) -> String {
        guard let name = (resource["name"] as? [[String: Any]])?.first else { return "" }
        if let text = name["text"] as? String { return text }
        let family = name["family"] as? String ?? ""
        let given = (name["given"] as? [String] ?? []).joined()
        return family + given
    }

    /// A CodeableConcept for people: its text, else the first coding's display, else its code.
    static func concept(_ value: Any?) -> String {
        guard let concept = value as? [String: Any] else { return "" }
        if let text = concept["text"] as? String { return text }
        let coding = (concept["coding"] as? [[String: Any]])?.first
        return coding?["display"] as? String ?? coding?["code"] as? String ?? ""
    }

    /// The first coding of a CodeableConcept: (system, code).
    static func coding(_ value: Any?) -> (system: String?, code: String?) {
        let coding = ((value as? [String: Any])?["coding"] as? [[String: Any]])?.first
        return (coding?["system"] as? String, coding?["code"] as? String)
    }

    /// A Reference: its `reference`, else its display.
    static func reference(_ value: Any?) -> String {
        guard let reference = value as? [String: Any] else { return "" }
        return reference["reference"] as? String ?? reference["display"] as? String ?? ""
    }

    /// The first of `keys` present as a date/time, or a Period's start.
    static func date(_ resource: [String: Any], _ keys: [String]) -> String {
        for key in keys {
            if let text = resource[key] as? String { return text }
            if let period = resource[key] as? [String: Any], let start = period["start"] as? String { return start }
        }
        return ""
    }

    /// `2026-11-28T09:30:00+08:00` as `2026-11-28 09:30` for a table.
    static func short(_ dateTime: String) -> String {
        guard dateTime.count >= 16 else { return dateTime }
        return String(dateTime.prefix(10)) + " " + String(dateTime.dropFirst(11).prefix(5))
    }

    /// A resident ID number for a table: the region and check digit, the rest hidden.
    static func masked(_ number: String) -> String {
        guard number.count == 18 else { return number }
        return String(number.prefix(6)) + String(repeating: "*", count: 8) + String(number.suffix(4))
    }

    static let residentIDSystem = "urn:health-hub:sid:resident-id"
    static let cardSystem = "urn:health-hub:sid:social-security-card"
}
