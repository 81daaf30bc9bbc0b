import Foundation
import HubFHIR

/// `If-None-Match` and `If-Modified-Since` on a read or vread (FHIR R4 §3.1.0.1.4, RFC 9110
/// §13.1), from HTTP headers or a Bundle entry's `ifNoneMatch` / `ifModifiedSince`: a client
/// whose copy is current gets 304 and no body.
public struct ReadCondition: Sendable, Equatable {
    public var ifNoneMatch: String?
    public var ifModifiedSince: String?

    public init(ifNoneMatch: String?, ifModifiedSince: String?) {
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
    }

    /// Whether the client's copy of `stored` is current. `If-None-Match` (ETags compared weakly,
    /// `*` for any) takes precedence; `If-Modified-Since` is judged at whole seconds, as an HTTP
    /// date carries them (a Bundle entry's FHIR instant too), and ignored when it is neither.
    public func isNotModified(_ stored: StoredResource) -> Bool {
        if let match = self.ifNoneMatch {
            let current = Self.opaque(stored.eTag)
            return match.split(separator: ",").contains { tag in
                let tag = tag.trimmingCharacters(in: .whitespaces)
                return tag == "*" || Self.opaque(tag) == current
            }
        }
        if let text = self.ifModifiedSince, let since = UTCTime.parseHTTPDate(text) ?? FHIRDateRange(text).map(\.low) {
            return stored.lastUpdated.timeIntervalSince1970.rounded(.down) <= since.timeIntervalSince1970
        }
        return false
    }

    /// An entity tag without its weakness mark: weak comparison.
    private static func opaque(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
