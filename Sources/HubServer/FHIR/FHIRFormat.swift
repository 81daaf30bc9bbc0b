import Foundation
import HTTPTypes
import HubFHIR
import Hummingbird

/// Content negotiation and rendering for the FHIR API: JSON only, as `application/fhir+json`.
///
/// `_format` and `Accept` may ask for JSON (`json`, `application/json`, `application/fhir+json`,
/// `*/*`); anything else (XML, Turtle) is 406. Bodies sent must be one of the JSON media types
/// (415 otherwise). `_pretty=true` indents the output.
struct FHIRFormat: Sendable {
    var pretty: Bool

    static let jsonMediaTypes = ["application/fhir+json", "application/json", "application/json+fhir"]

    /// Reads the request's wishes, or throws 406.
    init(request: Request) throws(APIError) {
        let format = request.uri.queryParameters.get("_format")?.lowercased()
        if let format, !["json", "application/json", "application/fhir+json", "application/json+fhir"].contains(format) {
            throw APIError(.notAcceptable, code: .notSupported, diagnostics: "_format \(format) is not supported: this server speaks FHIR JSON only")
        }
        if format == nil, let accept = request.headers[.accept]?.lowercased(), !accept.isEmpty {
            let accepted = accept.split(separator: ",").map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces) }
            guard accepted.contains(where: { Self.jsonMediaTypes.contains($0) || $0 == "*/*" || $0 == "application/*" }) else {
                throw APIError(
                    .notAcceptable, code: .notSupported, diagnostics: "Accept: \(accept) cannot be served: this server speaks FHIR JSON only")
            }
        }
        self.pretty = request.uri.queryParameters.get("_pretty") == "true"
    }

    /// The request body as JSON, or 415 / 400 with what is wrong.
    static func body(of request: Request) async throws -> JSONValue {
        let contentType = request.headers[.contentType]?.lowercased().split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let contentType, Self.jsonMediaTypes.contains(contentType) else {
            throw APIError(
                .unsupportedMediaType,
                code: .notSupported,
                diagnostics: "send the resource as application/fhir+json (Content-Type was \(contentType ?? "missing"))"
            )
        }
        // BodyLimitMiddleware has already collected the body within the configured limit.
        var request = request
        let buffer = try await request.collectBody(upTo: .max)
        do {
            return try JSONParser.parse(Array(buffer: buffer))
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error.description)")
        }
    }

    func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = HubMediaType.fhirJSON
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized(pretty: self.pretty))))
    }
}

extension HTTPField.Name {
    /// `Prefer` (RFC 7240): `return=minimal|representation|OperationOutcome`, `handling=lenient`.
    static let prefer = HTTPField.Name("Prefer")!
    /// FHIR conditional create: the search that must find nothing for the create to happen.
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!
}

extension Date {
    /// An HTTP date (RFC 9110 IMF-fixdate) for `Last-Modified`.
    var httpDate: String {
        UTCTime(self).httpDate
    }
}
