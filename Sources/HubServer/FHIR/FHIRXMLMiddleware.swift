import HTTPTypes
import HubFHIR
public import HubFHIRXML
public import Hummingbird
import Logging
import NIOCore

/// Reads FHIR XML request bodies (`application/fhir+xml`) as the JSON the routes take, so that
/// every interaction that takes a resource takes it in XML without knowing.
///
/// It sits inside ``ErrorResponseMiddleware`` and ``BodyLimitMiddleware``: the body is already
/// bounded, and XML that cannot be read is an audited 400 like bad JSON. It reads only the
/// bodies of authenticated callers' POSTs and PUTs (the methods whose bodies the body limit
/// collects): an anonymous request gets its 401 without the hub parsing anything.
public struct FHIRXMLRequestMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let reader: FHIRXMLReader

    public init(reader: FHIRXMLReader) {
        self.reader = reader
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post || request.method == .put, context.grant != nil, FHIRXMLResponseMiddleware.isFHIR(request.uri.path),
            FHIRWireFormat.ofBody(request) == .xml
        else {
            return try await next(request, context)
        }
        var request = request
        // Collected already, within server.max_body_bytes, by BodyLimitMiddleware.
        let buffer = try await request.collectBody(upTo: .max)
        guard buffer.readableBytes > 0 else { return try await next(request, context) }
        let resource: JSONValue
        do {
            resource = try self.reader.resource(from: Array(buffer: buffer))
        } catch {
            throw APIError.badRequest("the body is not FHIR XML: \(error.description)")
        }
        var head = request.head
        head.headerFields[.contentType] = HubMediaType.fhirJSON
        head.headerFields[.contentLength] = nil
        return try await next(Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: resource.serialized()))), context)
    }
}

/// Answers in FHIR XML a client that asked for it (`_format`, `Accept`, or an XML body), by
/// writing every `application/fhir+json` answer under `/fhir` — resources, Bundles,
/// OperationOutcomes, refusals — as XML at the edge. The routes build JSON only, so no route can
/// forget the XML form.
///
/// It sits outside authentication and audit so that their refusals are translated too. Every
/// answer under `/fhir` says `Vary: Accept`, since the same URL answers in either format.
///
/// Should an answer have no XML form (a narrative stored before narratives were checked), the
/// JSON answer goes out as it is, logged: a committed write never turns into an error.
public struct FHIRXMLResponseMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let writer: FHIRXMLWriter

    public init(writer: FHIRXMLWriter) {
        self.writer = writer
    }

    static func isFHIR(_ path: String) -> Bool {
        path == "/fhir" || path.hasPrefix("/fhir/")
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isFHIR(request.uri.path) else { return try await next(request, context) }
        var response = try await next(request, context)
        response.headers[.vary] = "Accept"
        // A format the hub cannot speak was refused by the route (406, in JSON).
        guard (try? FHIRWireFormat.negotiate(request)) == .xml, let contentType = response.headers[.contentType],
            contentType.hasPrefix("application/fhir+json")
        else { return response }
        let collector = ResponseBodyCollector()
        try await response.body.write(collector)
        let xml: [UInt8]
        do {
            // The hub's own JSON: deeper than a request may be (a Bundle adds levels).
            let value = try JSONParser.parse(collector.bytes, maximumDepth: 512)
            xml = try self.writer.document(value, pretty: request.uri.queryParameters.get("_pretty") == "true")
        } catch {
            context.logger.error("answer not writable as FHIR XML; answered in JSON", metadata: ["error": "\(error)"])
            response.body = .init(byteBuffer: ByteBuffer(bytes: collector.bytes))
            return response
        }
        response.headers[.contentType] = HubMediaType.fhirXML
        response.headers[.contentLength] = nil
        response.body = .init(byteBuffer: ByteBuffer(bytes: xml))
        return response
    }
}

/// Gathers a response body written in parts (a route's answer is one buffer, bounded by the
/// page sizes the routes keep).
private final class ResponseBodyCollector: ResponseBodyWriter {
    var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        self.bytes.append(contentsOf: buffer.readableBytesView)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
