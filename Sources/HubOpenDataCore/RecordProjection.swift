public import HubFHIR

/// A calendar day as FHIR writes one (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or the date of a
/// `dateTime` as written, in the record's own offset); a part not given is nil.
public struct CalendarDay: Sendable, Equatable, Comparable {
    public var year: Int
    public var month: Int?
    public var day: Int?

    public init(year: Int, month: Int? = nil, day: Int? = nil) {
        self.year = year
        self.month = month
        self.day = day
    }

    public init?(_ text: String) {
        let parts = text.prefix(10).split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, first.count == 4, let year = Int(first) else { return nil }
        self.year = year
        self.month = parts.count > 1 ? Int(parts[1]).flatMap { (1...12).contains($0) ? $0 : nil } : nil
        self.day = parts.count > 2 && self.month != nil ? Int(parts[2]).flatMap { (1...31).contains($0) ? $0 : nil } : nil
        if parts.count > 1, self.month == nil { return nil }
    }

    /// `YYYY-MM`, or nil without a month.
    public var monthText: String? {
        self.month.map { String(self.year) + "-" + ($0 < 10 ? "0" : "") + String($0) }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.year, lhs.month ?? 0, lhs.day ?? 0) < (rhs.year, rhs.month ?? 0, rhs.day ?? 0)
    }
}

/// A patient as open data sees them: the quasi-identifiers at their finest, nothing else — no
/// name, identifier, exact birth date or address line ever enters the computation's rows.
public struct PatientFacts: Sendable, Equatable {
    public var birth: CalendarDay?
    /// `male`, `female`, `other` or `unknown` (FHIR's administrative gender).
    public var sex: String
    /// `province/city/district` of the home address (FHIR `Address.state`, `city`, `district`).
    public var place: String

    public init(birth: CalendarDay?, sex: String, place: String) {
        self.birth = birth
        self.sex = sex
        self.place = place
    }

    /// Whole years of age on `day`, or nil without a birth year (or a day before it).
    public func age(on day: CalendarDay) -> Int? {
        guard let birth = self.birth else { return nil }
        var age = day.year - birth.year
        // A birth date without its month (or day) counts from the middle of what it gives.
        let birthday = (birth.month ?? 7, birth.day ?? (birth.month == nil ? 1 : 15))
        if (day.month ?? 7, day.day ?? 15) < birthday { age -= 1 }
        return age >= 0 ? age : nil
    }
}

/// A dated, coded record of a patient (a diagnosis or a lab result) as open data sees it.
public struct EventFacts: Sendable, Equatable {
    public var date: CalendarDay?
    /// The ICD-10 chapter or the LOINC code; ``Dimension/unknown`` without one.
    public var code: String

    public init(date: CalendarDay?, code: String) {
        self.date = date
        self.code = code
    }
}

/// Turns stored FHIR resources into the facts above, and facts into a dataset's row.
public enum RecordProjection {
    static let loinc = "http://loinc.org"
    /// Code systems read as ICD-10: WHO's and its national editions' FHIR URIs, and the OID of
    /// GB/T 14396 (疾病分类与代码) used in Chinese health records.
    static let icd10Systems: Set = [
        "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cn", "urn:oid:2.16.156.10011.2.3.3.11",
    ]

    public static func patient(_ resource: JSONObject) -> PatientFacts {
        let gender = resource["gender"]?.stringValue
        let sex = ["male", "female", "other"].contains(gender ?? "") ? gender! : Dimension.unknown
        let addresses = resource["address"]?.elements.compactMap(\.objectValue) ?? []
        let home = addresses.first { $0["use"]?.stringValue == "home" } ?? addresses.first { $0["use"]?.stringValue != "old" }
        let place = ["state", "city", "district"].map { key in
            let text = home?[key]?.stringValue?.trimmingWhitespace ?? ""
            // A slash would add a level to the hierarchy.
            return text.isEmpty ? Dimension.unknown : text.replacing("/", with: "∕")
        }
        return PatientFacts(birth: resource["birthDate"]?.stringValue.flatMap(CalendarDay.init), sex: sex, place: place.joined(separator: "/"))
    }

    public static func event(_ resource: JSONObject, subject: DatasetDefinition.Subject) -> EventFacts {
        let dates: [String]
        let code: String?
        let codings = resource["code"]?.objectValue?["coding"]?.elements.compactMap(\.objectValue) ?? []
        switch subject {
        case .conditions:
            dates =
                ["onsetDateTime", "recordedDate"].compactMap { resource[$0]?.stringValue }
                + [resource["onsetPeriod"]?.objectValue?["start"]?.stringValue].compactMap { $0 }
            code =
                codings.lazy.filter { Self.icd10Systems.contains($0["system"]?.stringValue ?? "") }
                .compactMap { $0["code"]?.stringValue.flatMap(ICD10Chapter.chapter(of:)) }.first
        case .observations:
            dates =
                ["effectiveDateTime", "effectiveInstant", "issued"].compactMap { resource[$0]?.stringValue }
                + [resource["effectivePeriod"]?.objectValue?["start"]?.stringValue].compactMap { $0 }
            code = codings.lazy.filter { $0["system"]?.stringValue == Self.loinc }.compactMap { $0["code"]?.stringValue }
                .first { $0.count <= 10 && $0.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "-") } }
        case .patients:
            dates = []
            code = nil
        }
        return EventFacts(date: dates.lazy.compactMap(CalendarDay.init).first, code: code ?? Dimension.unknown)
    }

    /// The row of `dimensions` for `patient` (and `event`), at the finest: the age on the event's
    /// day (on `asOf` for a patient), the month of the event.
    public static func row(patient: PatientFacts, event: EventFacts?, asOf: CalendarDay, dimensions: [Dimension]) -> [String] {
        dimensions.map { dimension in
            switch dimension {
            case .ageBand: patient.age(on: event?.date ?? asOf).map(String.init) ?? Dimension.unknown
            case .sex: patient.sex
            case .district: patient.place
            case .month: event?.date?.monthText ?? Dimension.unknown
            case .diagnosisChapter, .labTest: event?.code ?? Dimension.unknown
            }
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
