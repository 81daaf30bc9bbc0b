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

    /// `40-44`, `40-49`, `40-59`; ages from 90 (80 in 20-year bands) are one band, as few live
    /// that long that an exact band would single them out.
    static func ageBand(_ age: Int, width: Int) -> String {
        let top = width == 20 ? 80 : 90
        if age >= top { return "\(top)+" }
        let low = age / width * width
        return "\(low)-\(low + width - 1)"
    }
}
