import Foundation
import HTTPTypes
import HubFHIR
import Hummingbird

/// The representations the FHIR API speaks: JSON, which the routes build, and XML, which
/// ``FHIRXMLResponseMiddleware`` and ``FHIRXMLRequestMiddleware`` translate at the edge.
enum FHIRWireFormat: Sendable, Equatable {
    case json
    case xml

    static let jsonMediaTypes: Set = ["application/fhir+json", "application/json", "application/json+fhir"]
    static let xmlMediaTypes: Set = ["application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml"]

    /// The format a media type or `_format` value names; nil for one the hub does not speak.
    init?(mediaType: some StringProtocol) {
        let type = mediaType.lowercased()
        if Self.jsonMediaTypes.contains(type) || type == "json" || type == "*/*" || type == "application/*" {
            self = .json
        } else if Self.xmlMediaTypes.contains(type) || type == "xml" {
            self = .xml
        } else {
            return nil
        }
    }

    /// The request body's format, from its `Content-Type`; nil when absent or neither.
    static func ofBody(_ request: Request) -> FHIRWireFormat? {
        guard let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces),
            !["json", "xml", "*/*", "application/*"].contains(contentType.lowercased())
        else { return nil }
        return FHIRWireFormat(mediaType: contentType)
    }

    /// What the client asked to be answered in: `_format` first, then `Accept` (the highest `q`
    /// the hub speaks, earlier first among equals; `*/*` is the body's format unless refused
    /// with `q=0`), then the format of the body it sent; JSON when nothing says. A format the
    /// hub cannot write is 406.
    static func negotiate(_ request: Request) throws(APIError) -> FHIRWireFormat {
        if let format = request.uri.queryParameters.get("_format") {
            let mediaType = format.split(separator: ";", omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
            guard let wire = FHIRWireFormat(mediaType: mediaType) else {
                throw APIError(
                    .notAcceptable, code: .notSupported, diagnostics: "_format \(format) is not supported: this server speaks FHIR JSON and XML")
            }
            return wire
        }
        guard let accept = request.headers[.accept], !accept.trimmingCharacters(in: .whitespaces).isEmpty else {
            return Self.ofBody(request) ?? .json
        }
        var ranges: [(type: String, format: FHIRWireFormat, q: Double)] = []
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let format = FHIRWireFormat(mediaType: parts[0]) else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                // RFC 9110 qvalue: 0 to 1, at most three decimals; anything else counts as 1.
                if pair.count == 2, pair[0].lowercased() == "q", pair[1].count <= 5, pair[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                    let value = Double(pair[1]), value >= 0, value <= 1
                {
                    q = value
                }
            }
            ranges.append((parts[0].lowercased(), format, q))
        }
        let refused = Set(ranges.filter { $0.q == 0 && !$0.type.contains("*") }.map(\.format))
        var best: (format: FHIRWireFormat, q: Double)?
        for range in ranges where range.q > (best?.q ?? 0) {
            if range.type.contains("*") {
                let preferred = Self.ofBody(request) ?? .json
                let other: FHIRWireFormat = preferred == .json ? .xml : .json
                guard let format = [preferred, other].first(where: { !refused.contains($0) }) else { continue }
                best = (format, range.q)
            } else {
                best = (range.format, range.q)
            }
        }
        guard let best else {
            throw APIError(
                .notAcceptable, code: .notSupported, diagnostics: "Accept: \(accept) cannot be served: this server speaks FHIR JSON and XML")
        }
        return best.format
    }
}

/// Rendering for the FHIR API's routes, which build JSON (`application/fhir+json`); an answer
/// asked for in XML is translated by ``FHIRXMLResponseMiddleware``. `_pretty=true` indents.
struct FHIRFormat: Sendable {
    var pretty: Bool

    /// Reads the request's wishes, or throws 406.
    init(request: Request) throws(APIError) {
        _ = try FHIRWireFormat.negotiate(request)
        self.pretty = request.uri.queryParameters.get("_pretty") == "true"
    }

    /// The request body as JSON, or 415 / 400 with what is wrong.
    static func body(of request: Request) async throws -> JSONValue {
        let contentType = request.headers[.contentType]?.lowercased().split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let contentType, FHIRWireFormat.jsonMediaTypes.contains(contentType) else {
            throw APIError(
                .unsupportedMediaType,
                code: .notSupported,
                diagnostics: "send the resource as application/fhir+json or application/fhir+xml (Content-Type was \(contentType ?? "missing"))"
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
