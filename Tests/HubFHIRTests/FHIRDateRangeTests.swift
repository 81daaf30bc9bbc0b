import Foundation
import HubFHIR
import Testing

@Suite struct FHIRDateRangeTests {
    static func utc(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    @Test func rangesFollowThePrecisionAndZone() throws {
        let year = try #require(FHIRDateRange("2024"))
        #expect(year.low == Self.utc("2023-12-31T16:00:00Z"))  // zone-less values are UTC+8
        #expect(year.high == Self.utc("2024-12-31T16:00:00Z"))
        let month = try #require(FHIRDateRange("2024-02"))
        #expect(month.high.timeIntervalSince(month.low) == 29 * 86_400)  // leap year
        // Minute precision is accepted for search values (stored dateTimes always have seconds).
        let minute = try #require(FHIRDateRange("2024-03-05T08:30"))
        #expect(minute.high.timeIntervalSince(minute.low) == 60)
        let second = try #require(FHIRDateRange("2024-03-05T08:30:00Z"))
        #expect(second.low == Self.utc("2024-03-05T08:30:00Z"))
        #expect(second.high.timeIntervalSince(second.low) == 1)
        let offset = try #require(FHIRDateRange("2024-03-05T08:30:00.123456-05:00"))
        #expect(abs(offset.low.timeIntervalSince(Self.utc("2024-03-05T13:30:00Z")) - 0.123) < 0.000_001)
        #expect(abs(offset.high.timeIntervalSince(offset.low) - 0.001) < 0.000_001)
    }

    @Test(arguments: [
        "", "24", "2024-13", "2024-02-30", "2024-03-05T25:00:00Z", "2024-03-05T08:30:00+8", "2024-03-05 08:30:00Z", "2024-03-05T08:30:00.Z",
        "yesterday",
    ])
    func refusesWhatIsNotAFHIRDate(text: String) {
        #expect(FHIRDateRange(text) == nil)
    }
}
