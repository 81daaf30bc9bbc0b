/// A column of a dataset, with the generalization hierarchy k-anonymity climbs.
///
/// Quasi-identifiers (age, sex, place, month) are what an attacker may know about a person from
/// elsewhere; they are generalized until every class is large enough. Diagnosis chapter and lab
/// test are what a dataset is about: never generalized, and in an extract not part of a class.
/// Values are kept at their finest (an age in years, a full place) and generalized on output; the
/// finest never leaves the hub.
public enum Dimension: String, Sendable, Codable, CaseIterable, Comparable {
    case ageBand = "age-band"
    case sex
    case district
    case month
    case diagnosisChapter = "diagnosis-chapter"
    case labTest = "lab-test"

    /// The value a record lacking this dimension gets.
    public static let unknown = "unknown"
    /// The value at the top of every hierarchy: anything.
    public static let any = "*"
    /// Where an aggregate puts the values too rare to name (fewer than k patients).
    public static let other = "other"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (Self.allCases.firstIndex(of: lhs) ?? 0) < (Self.allCases.firstIndex(of: rhs) ?? 0)
    }

    public var isQuasiIdentifier: Bool {
        switch self {
        case .ageBand, .sex, .district, .month: true
        case .diagnosisChapter, .labTest: false
        }
    }

    /// The names of the generalization levels, finest first; the last of a quasi-identifier is
    /// "any" (the column says nothing).
    public var levels: [String] {
        switch self {
        case .ageBand: ["5 years", "10 years", "20 years", "any"]
        case .sex: ["sex", "any"]
        case .district: ["district", "city", "province", "any"]
        case .month: ["month", "quarter", "year", "any"]
        case .diagnosisChapter: ["ICD-10 chapter"]
        case .labTest: ["LOINC code"]
        }
    }

    /// `value` (at the finest: an age in whole years, `province/city/district`, `YYYY-MM`, a sex,
    /// a chapter or a code) as shown at `level`.
    public func generalize(_ value: String, to level: Int) -> String {
        let level = min(max(level, 0), self.levels.count - 1)
        if self.isQuasiIdentifier, level == self.levels.count - 1 { return Self.any }
        if value == Self.unknown { return value }
        switch self {
        case .ageBand:
            guard let age = Int(value), age >= 0 else { return Self.unknown }
            return Self.ageBand(age, width: [5, 10, 20][level])
        case .district:
            let parts = value.split(separator: "/", omittingEmptySubsequences: false)
            return parts.prefix(max(1, parts.count - level)).joined(separator: "/")
        case .month:
            guard level > 0 else { return value }
            let year = String(value.prefix(4))
            guard level == 1, let month = Int(value.dropFirst(5)) else { return year }
            return "\(year)-Q\((month - 1) / 3 + 1)"
        case .sex, .diagnosisChapter, .labTest:
            return value
        }
    }

    /// Every value this dimension can show at `level` when that set is known before the data —
    /// so that an aggregate lists each of them, counted or suppressed, and which cells appear
    /// says nothing about the records — or nil when only the data can say (places, lab tests,
    /// and months outside a stated period). `months` is the definition's period, if any.
    public func publicDomain(at level: Int, months: ClosedRange<String>? = nil) -> [String]? {
        let level = min(max(level, 0), self.levels.count - 1)
        if self.isQuasiIdentifier, level == self.levels.count - 1 { return [Self.any] }
        switch self {
        case .ageBand:
            let width = [5, 10, 20][level]
            let top = width == 20 ? 80 : 90
            return stride(from: 0, to: top, by: width).map { "\($0)-\($0 + width - 1)" } + ["\(top)+", Self.unknown]
        case .sex:
            return ["female", "male", "other", Self.unknown]
        case .diagnosisChapter:
            return ICD10Chapter.chapters.map { "\($0.0) \($0.1)-\($0.2)" } + [Self.unknown]
        case .month:
            guard let months, let first = CalendarDay(months.lowerBound), let last = CalendarDay(months.upperBound),
                let firstMonth = first.month, let lastMonth = last.month, last.year - first.year < 50
            else { return nil }
            var values: [String] = []
            var (year, month) = (first.year, firstMonth)
            while (year, month) <= (last.year, lastMonth) {
                let shown = self.generalize(CalendarDay(year: year, month: month).monthText ?? "", to: level)
                if values.last != shown { values.append(shown) }
                (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
            }
            return values
        case .district, .labTest:
            return nil
        }
    }

    /// `40-44`, `40-49`, `40-59`; ages from 90 (80 in 20-year bands) are one band, as few live
    /// that long that an exact band would single them out.
    static func ageBand(_ age: Int, width: Int) -> String {
        let top = width == 20 ? 80 : 90
        if age >= top { return "\(top)+" }
        let low = age / width * width
        return "\(low)-\(low + width - 1)"
    }
}
