import Foundation
import HTTPTypes
import HubFHIR
import HubResources
import Hummingbird

/// `If-None-Match` and `If-Modified-Since` on read and vread (FHIR R4 §3.1.0.1.4, RFC 9110
/// §13.1): a client whose copy is current gets 304 and no body.
enum ConditionalRead {
    /// Whether the client's copy of `stored` is current. `If-None-Match` (ETags compared weakly,
    /// `*` for any) takes precedence; `If-Modified-Since` is judged at whole seconds, as an HTTP
    /// date carries them, and ignored when it is not one.
    static func isNotModified(_ stored: StoredResource, headers: HTTPFields) -> Bool {
        if let match = headers[.ifNoneMatch] {
            let current = Self.opaque(stored.eTag)
            return match.split(separator: ",").contains { tag in
                let tag = tag.trimmingCharacters(in: .whitespaces)
                return tag == "*" || Self.opaque(tag) == current
            }
        }
        if let since = headers[.ifModifiedSince].flatMap(UTCTime.parseHTTPDate) {
            return stored.lastUpdated.timeIntervalSince1970.rounded(.down) <= since.timeIntervalSince1970
        }
        return false
    }

    /// 304: the validators, nothing else.
    static func notModified(_ stored: StoredResource) -> Response {
        Response(status: .notModified, headers: [.eTag: stored.eTag, .lastModified: stored.lastUpdated.httpDate])
    }

    /// An entity tag without its weakness mark: weak comparison.
    private static func opaque(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
