import Foundation
import HubFHIR

/// `If-None-Match` and `If-Modified-Since` on a read or vread (FHIR R4 §3.1.0.1.4, RFC 9110
/// §13.1), from HTTP headers or a Bundle entry's `ifNoneMatch` / `ifModifiedSince`: a client
/// whose copy is current gets 304 and no body.
public struct ReadCondition: Sendable, Equatable {
    public var ifNoneMatch: String?
    public var ifModifiedSince: String?
    /// Whether `ifModifiedSince` may be a FHIR instant (a Bundle entry's, R4 `instant`) as well
    /// as an HTTP date; a header is an HTTP date or ignored (RFC 9110 §13.1.3).
    public var takesInstants: Bool

    public init(ifNoneMatch: String?, ifModifiedSince: String?, takesInstants: Bool = false) {
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.takesInstants = takesInstants
    }

    /// Whether either condition is given.
    public var isEmpty: Bool { self.ifNoneMatch == nil && self.ifModifiedSince == nil }

    /// Whether the client's copy of `stored` is current. `If-None-Match` (ETags compared weakly,
    /// `*` for any) takes precedence; `If-Modified-Since` is judged at whole seconds for an HTTP
    /// date, which carries no more, and at milliseconds for a FHIR instant; ignored when it is
    /// neither.
    public func isNotModified(_ stored: StoredResource) -> Bool {
        if let match = self.ifNoneMatch {
            let current = Self.opaque(stored.eTag)
            return match.split(separator: ",").contains { tag in
                let tag = tag.trimmingCharacters(in: .whitespaces)
                return tag == "*" || Self.opaque(tag) == current
            }
        }
        guard let text = self.ifModifiedSince else { return false }
        // Compared by integers: the stored time has microseconds, and a floating-point product
        // can land just below a whole second or millisecond.
        let micros = Int64((stored.lastUpdated.timeIntervalSince1970 * 1_000_000).rounded())
        func whole(_ unit: Int64) -> Int64 { micros >= 0 ? micros / unit : (micros - unit + 1) / unit }
        if let since = UTCTime.parseHTTPDate(text) {
            return whole(1_000_000) <= Int64(since.timeIntervalSince1970.rounded())
        }
        // An instant has a time and a zone (`2026-12-07T08:00:00.250+08:00`), not a bare date.
        if self.takesInstants, text.contains("T"), let since = FHIRDateRange(text)?.low {
            return whole(1000) <= Int64((since.timeIntervalSince1970 * 1000).rounded())
        }
        return false
    }

    /// An entity tag without its weakness mark: weak comparison.
    private static func opaque(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
