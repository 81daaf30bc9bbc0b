import Foundation
public import HTTPTypes
public import Hummingbird

/// Media types the hub answers with.
public enum HubMediaType {
    public static let fhirJSON = "application/fhir+json; charset=utf-8"
    public static let fhirXML = "application/fhir+xml; charset=utf-8"
    public static let json = "application/json; charset=utf-8"
    public static let prometheus = "text/plain; version=0.0.4; charset=utf-8"
}

extension Response {
    /// A response whose body is `value` encoded as JSON.
    ///
    /// Keys are sorted so that responses are byte-for-byte stable (diffable, cacheable).
    public static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        contentType: String = HubMediaType.json,
        headers: HTTPFields = [:]
    ) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var fields = headers
        fields[.contentType] = contentType
        // Encoding our own Codable types cannot fail; should it ever, answer 500 rather than crash.
        guard let data = try? encoder.encode(value) else {
            return Response(status: .internalServerError, headers: [.contentType: HubMediaType.json])
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
