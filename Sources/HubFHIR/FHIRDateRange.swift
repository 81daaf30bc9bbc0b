public import Foundation

/// The span of time a FHIR date, dateTime or instant stands for, at its precision.
///
/// `2024` is all of 2024, `2024-03` all of March, `2024-03-05T10:00:00+08:00` one second;
/// search values may also stop at the minute (`2024-03-05T10:00`). Search
/// compares these ranges as FHIR R4 §3.1.1.5.7 says. Values without a time zone (dates, and
/// dateTimes without an offset) are taken as UTC+8, the zone of the hub's hospitals.
public struct FHIRDateRange: Sendable, Equatable {
    /// Inclusive.
    public var low: Date
    /// Exclusive.
    public var high: Date

    public init(low: Date, high: Date) {
        self.low = low
        self.high = high
    }

    static let defaultOffsetSeconds = 8 * 3600

    public init?(_ text: String) {
        let scanner = Array(text.utf8)
        func number(_ start: Int, _ length: Int) -> Int? {
            guard start + length <= scanner.count else { return nil }
            var value = 0
            for byte in scanner[start..<(start + length)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4) else { return nil }
        var components = DateComponents(year: year, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        var step = DateComponents(year: 1)
        var offset = Self.defaultOffsetSeconds
        var index = 4
        if scanner.count > 4 {
            guard scanner[4] == UInt8(ascii: "-"), let month = number(5, 2), (1...12).contains(month) else { return nil }
            components.month = month
            step = DateComponents(month: 1)
            index = 7
            if scanner.count > 7 {
                guard scanner[7] == UInt8(ascii: "-"), let day = number(8, 2), (1...31).contains(day) else { return nil }
                components.day = day
                step = DateComponents(day: 1)
                index = 10
                if scanner.count > 10 {
                    guard scanner[10] == UInt8(ascii: "T"), let hour = number(11, 2), scanner.count >= 16,
                        scanner[13] == UInt8(ascii: ":"), let minute = number(14, 2), hour < 24, minute < 60
                    else { return nil }
                    components.hour = hour
                    components.minute = minute
                    step = DateComponents(minute: 1)
                    index = 16
                    if index < scanner.count, scanner[index] == UInt8(ascii: ":") {
                        guard let second = number(17, 2), second < 60 else { return nil }
                        components.second = second
                        step = DateComponents(second: 1)
                        index = 19
                        if index < scanner.count, scanner[index] == UInt8(ascii: ".") {
                            index += 1
                            var digits = 0
                            var fraction = 0
                            while index < scanner.count, scanner[index] >= 0x30, scanner[index] <= 0x39 {
                                if digits < 3 { fraction = fraction * 10 + Int(scanner[index] - 0x30) }
                                digits += 1
                                index += 1
                            }
                            guard digits > 0 else { return nil }
                            if digits < 3 {
                                for _ in digits..<3 { fraction *= 10 }
                            }
                            components.nanosecond = fraction * 1_000_000
                            step = DateComponents(nanosecond: 1_000_000)
                        }
                    }
                    if index < scanner.count {
                        if scanner[index] == UInt8(ascii: "Z"), index + 1 == scanner.count {
                            offset = 0
                        } else if scanner[index] == UInt8(ascii: "+") || scanner[index] == UInt8(ascii: "-"),
                            let hours = number(index + 1, 2), index + 3 < scanner.count, scanner[index + 3] == UInt8(ascii: ":"),
                            let minutes = number(index + 4, 2), index + 6 == scanner.count
                        {
                            offset = (hours * 3600 + minutes * 60) * (scanner[index] == UInt8(ascii: "-") ? -1 : 1)
                        } else {
                            return nil
                        }
                        index = scanner.count
                    }
                }
            }
        }
        guard index == scanner.count else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        guard let zone = TimeZone(secondsFromGMT: offset) else { return nil }
        calendar.timeZone = zone
        guard let low = calendar.date(from: components), calendar.component(.day, from: low) == components.day,
            let high = calendar.date(byAdding: step, to: low)
        else { return nil }
        self.low = low
        self.high = high
    }
}
