import Foundation
import HubFHIR
import Testing

@Suite struct UTCTimeTests {
    @Test func agreesWithFoundationAcrossCenturies() {
        var state: UInt64 = 0x1234_5678
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        let http = DateFormatter()
        http.locale = Locale(identifier: "en_US_POSIX")
        http.timeZone = TimeZone(identifier: "GMT")
        http.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // 1900 … 2100, whole seconds.
            let seconds = Int64(state >> 33) % 6_311_390_400 - 2_208_988_800
            let date = Date(timeIntervalSince1970: Double(seconds))
            let time = UTCTime(microsecondsSince1970: seconds * 1_000_000)
            #expect(String(time.instant.prefix(19)) + "Z" == iso.string(from: date))
            #expect(time.httpDate == http.string(from: date))
            #expect(UTCTime.parseHTTPDate(time.httpDate) == date)
        }
        for bad in [
            "Mon, 30 Feb 2026 10:00:00 GMT", "Mon, 30 Nov 2026 10:00:00 UTC", "Monday, 30-Nov-26 10:00:00 GMT", "Mon, 30 Nov 2026 24:00:00 GMT", "",
        ] {
            #expect(UTCTime.parseHTTPDate(bad) == nil, "\(bad)")
        }
    }

    @Test func keepsFractionsExact() {
        #expect(UTCTime(microsecondsSince1970: 1_764_520_016_934_001).timestampLiteral == "2025-11-30T16:26:56.934001Z")
        #expect(UTCTime(microsecondsSince1970: -1).timestampLiteral == "1969-12-31T23:59:59.999999Z")
        #expect(UTCTime(microsecondsSince1970: 951_782_400_000_000).instant == "2000-02-29T00:00:00.000Z")
    }

    @Test func instantsParseBackExactlyAndOnlyInTheirOwnForm() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...5_000_000_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = UTCTime(date).instant
            #expect(UTCTime.parseInstant(text).map { UTCTime($0).instant } == text)
        }
        for bad in [
            "2026-02-30T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-11-30T24:00:00.000Z", "2026-11-30T10:00:00Z",
            "2026-11-30T10:00:00.000+08:00", "",
        ] {
            #expect(UTCTime.parseInstant(bad) == nil, "\(bad)")
        }
    }

    /// Cursors carry microseconds from clients: any Int64 is a time, none traps.
    @Test func everyInt64IsATimeWithoutTrapping() {
        for micros in [Int64.min, Int64.min + 1, -1, 0, Int64.max] {
            _ = UTCTime(microsecondsSince1970: micros).timestampLiteral
        }
        #expect(UTCTime(microsecondsSince1970: -1).timestampLiteral == "1969-12-31T23:59:59.999999Z")
        #expect(UTCTime(microsecondsSince1970: UTCTime.representableMicroseconds.lowerBound).timestampLiteral == "0001-01-01T00:00:00.000000Z")
        #expect(UTCTime(microsecondsSince1970: UTCTime.representableMicroseconds.upperBound).timestampLiteral == "9999-12-31T23:59:59.999999Z")
    }
}
