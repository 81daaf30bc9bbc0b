public import Foundation

/// A moment in UTC broken into calendar fields, and the texts the hub writes it as.
///
/// Pure arithmetic (days-from-civil, proleptic Gregorian): Foundation's formatters rebuild an
/// ICU formatter on every call on Linux, which cost a fifth of the hub's CPU on a read.
public struct UTCTime: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0 ..< 1_000_000.
    public var microsecond: Int
    /// 0 = Sunday.
    public var weekday: Int

    /// Microseconds since 1970-01-01T00:00:00Z (negative before).
    public init(microsecondsSince1970 micros: Int64) {
        let (seconds, fraction) = Self.floorDivide(micros, 1_000_000)
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        self.microsecond = Int(fraction)
        self.hour = Int(secondOfDay / 3600)
        self.minute = Int(secondOfDay % 3600 / 60)
        self.second = Int(secondOfDay % 60)
        self.weekday = Int(Self.floorDivide(days + 4, 7).1)  // 1970-01-01 was a Thursday
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = Self.floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        self.day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        self.month = Int(mp < 10 ? mp + 3 : mp - 9)
        self.year = Int(yearOfEra + era * 400 + (self.month <= 2 ? 1 : 0))
    }

    public init(_ date: Date) {
        self.init(microsecondsSince1970: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    /// FHIR `instant` at milliseconds: `2026-11-30T16:30:00.123Z`.
    public var instant: String {
        "\(Self.pad(self.year, 4))-\(Self.pad(self.month, 2))-\(Self.pad(self.day, 2))T\(Self.pad(self.hour, 2)):\(Self.pad(self.minute, 2)):\(Self.pad(self.second, 2)).\(Self.pad(self.microsecond / 1000, 3))Z"
    }

    /// A PostgreSQL timestamp literal at microseconds: `2026-11-30T16:30:00.123456Z`.
    public var timestampLiteral: String {
        "\(Self.pad(self.year, 4))-\(Self.pad(self.month, 2))-\(Self.pad(self.day, 2))T\(Self.pad(self.hour, 2)):\(Self.pad(self.minute, 2)):\(Self.pad(self.second, 2)).\(Self.pad(self.microsecond, 6))Z"
    }

    /// An HTTP date (RFC 9110 IMF-fixdate): `Mon, 30 Nov 2026 16:30:00 GMT`.
    public var httpDate: String {
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[self.weekday]), \(Self.pad(self.day, 2)) \(months[self.month - 1]) \(Self.pad(self.year, 4)) "
            + "\(Self.pad(self.hour, 2)):\(Self.pad(self.minute, 2)):\(Self.pad(self.second, 2)) GMT"
    }

    /// Parses exactly the form ``instant`` writes (`2026-11-30T16:30:00.123Z`); nil otherwise.
    /// For reading back what the hub wrote, fast; FHIR input goes through `FHIRDateRange`.
    public static func parseInstant(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."), bytes[23] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ start: Int, _ length: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[start..<(start + length)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), let millisecond = number(20, 3)
        else { return nil }
        return Self.date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millisecond)
    }

    /// Parses an HTTP date in RFC 9110's preferred form, IMF-fixdate (`Mon, 30 Nov 2026
    /// 16:30:00 GMT`, as ``httpDate`` writes), as `If-Modified-Since` carries it; nil otherwise.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT", parts[1].count == 2, parts[2].count == 3,
            parts[3].count == 4, let month = months.firstIndex(of: String(parts[2])), let day = Int64(parts[1]), let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }), let hour = Int64(clock[0]), let minute = Int64(clock[1]),
            let second = Int64(clock[2])
        else { return nil }
        return Self.date(year: year, month: Int64(month + 1), day: day, hour: hour, minute: minute, second: second, millisecond: 0)
    }

    /// The moment of these calendar fields (UTC); nil for a field out of range or a day beyond
    /// its month.
    static func date(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, millisecond: Int64) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second)
        else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = Self.floorDivide(y, 400).0
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let milliseconds = ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + millisecond
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        // A day beyond its month (February 30th) comes back as another date: refuse it.
        return UTCTime(date).day == Int(day) ? date : nil
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Division rounding down, for a positive `b`; any `a` (a cursor's micros come from
    /// clients: `-a` of the smallest Int64 would trap).
    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let (quotient, remainder) = a.quotientAndRemainder(dividingBy: b)
        return remainder < 0 ? (quotient - 1, remainder + b) : (quotient, remainder)
    }

    /// Microseconds since 1970 of 0001-01-01T00:00:00Z and of the end of 9999: the instants a
    /// timestamp literal (and PostgreSQL) can carry as four-digit years.
    public static let representableMicroseconds: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999
}
