import Foundation
import HTTPTypes
import HubFHIR
import HubResources
import Hummingbird

/// `If-None-Match` and `If-Modified-Since` on read and vread (FHIR R4 §3.1.0.1.4, RFC 9110
/// §13.1): a client whose copy is current gets 304 and no body.
enum ConditionalRead {
    /// Whether the client's copy of `stored` is current (``ReadCondition``).
    static func isNotModified(_ stored: StoredResource, headers: HTTPFields) -> Bool {
        ReadCondition(ifNoneMatch: headers[.ifNoneMatch], ifModifiedSince: headers[.ifModifiedSince]).isNotModified(stored)
    }

    /// 304: the validators, nothing else.
    static func notModified(_ stored: StoredResource) -> Response {
        Response(status: .notModified, headers: [.eTag: stored.eTag, .lastModified: stored.lastUpdated.httpDate])
    }
}
