import HubFHIR

/// HL7 date/times — v2's DTM and v3's (CDA's) TS share one form,
/// `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]` — as FHIR dateTimes.
public enum HL7DateTime {
    /// The FHIR dateTime for `text`; a time without a zone is taken to be at `defaultOffset`
    /// (`+08:00`). Nil when `text` is not an HL7 date/time or not a real date.
    public static func fhirDateTime(_ text: String, defaultOffset: String) -> String? {
        guard let match = text.wholeMatch(of: /([0-9]{4})([0-9]{2})?([0-9]{2})?([0-9]{2})?([0-9]{2})?([0-9]{2})?(\.[0-9]{1,4})?([+-][0-9]{4})?/)
        else { return nil }
        var result = String(match.1)
        if let month = match.2 {
            result += "-\(month)"
            if let day = match.3 {
                result += "-\(day)"
                if let hour = match.4 {
                    result += "T\(hour):\(match.5 ?? "00"):\(match.6 ?? "00")\(match.7 ?? "")"
                    result += match.8.map { "\($0.prefix(3)):\($0.suffix(2))" } ?? defaultOffset
                }
            }
        }
        return FHIRDateRange(result) != nil ? result : nil
    }
}
