package import Foundation
import HubFHIR

/// A keyset position `<microseconds since 1970>:<key>` for pages ordered by (time, key): type
/// and system history, search by `_lastUpdated`, `$everything` in time order.
package struct TimeCursor: Sendable, Equatable {
    /// An exact timestamp literal, `2026-11-30T17:06:56.934000Z`: binding a `Date` would go
    /// through floating point and can land a microsecond off, repeating or skipping the row at a
    /// page boundary.
    package var timestampLiteral: String
    package var key: String

    package init(parsing text: String) throws(ResourceError) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), UTCTime.representableMicroseconds.contains(micros) else {
            throw ResourceError(.invalid, .invalid, "_cursor is not a position this server gave", expression: ["_cursor"])
        }
        self.timestampLiteral = UTCTime(microsecondsSince1970: micros).timestampLiteral
        self.key = String(parts[1])
    }

    /// The cursor of the row at `time` with `key`.
    package static func encode(_ time: Date, _ key: String) -> String {
        "\(Int64((time.timeIntervalSince1970 * 1_000_000).rounded())):\(key)"
    }
}
