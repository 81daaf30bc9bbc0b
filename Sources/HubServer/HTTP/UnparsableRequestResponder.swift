import Foundation
import HTTPTypes
import HubFHIR
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses — malformed, or a head beyond
/// ``RequestHeadLimits/parserBytes`` — with an OperationOutcome and `Connection: close`, where
/// Hummingbird would send an empty 400. (Its path is not known, so every path gets the FHIR
/// form.)
///
/// It sits between the HTTP codec and the application. It answers only between requests, when
/// every request so far has been answered: a parse error in the middle of a request or
/// behind an unanswered one is passed on, for Hummingbird to answer in turn.
final class UnparsableRequestResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Where the connection is: what the handler does with a parse error follows from it.
    struct State {
        private(set) var requestsStarted = 0
        private(set) var responsesEnded = 0
        private(set) var inRequest = false

        enum ErrorAction: Equatable {
            /// Write this refusal and close the connection.
            case answer(HTTPResponse.Status, String)
            /// Pass the error on.
            case forward
        }

        mutating func received(_ part: HTTPRequestPart) {
            switch part {
            case .head:
                self.requestsStarted += 1
                self.inRequest = true
            case .end: self.inRequest = false
            case .body: break
            }
        }

        mutating func sent(_ part: HTTPResponsePart) {
            if case .end = part { self.responsesEnded += 1 }
        }

        func caught(_ error: any Error) -> ErrorAction {
            guard let error = error as? HTTPParserError, !self.inRequest, self.requestsStarted == self.responsesEnded else {
                return .forward
            }
            if error == .headerOverflow {
                return .answer(
                    .init(code: 431),
                    "the request's head is larger than the hub takes: over \(RequestHeadLimits.parserBytes) bytes of request line and header fields, or over \(RequestHeadLimits.headerFieldCount) header fields (a long search belongs in POST _search)"
                )
            }
            return .answer(.badRequest, "the request is not well-formed HTTP/1.1")
        }
    }

    /// How long the connection stays open after the answer, for the client to read it.
    static let lingerBeforeClosing = TimeAmount.seconds(1)

    private var state = State()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.state.received(self.unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.state.sent(self.unwrapOutboundIn(data))
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch self.state.caught(error) {
        case .forward:
            context.fireErrorCaught(error)
        case .answer(let status, let diagnostics):
            let outcome = OperationOutcome(code: status.code == 431 ? .tooLong : .invalid, diagnostics: diagnostics)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = ByteBuffer(bytes: (try? encoder.encode(outcome)) ?? Data())
            let head = HTTPResponse(
                status: status,
                headerFields: [.contentType: HubMediaType.fhirJSON, .contentLength: String(body.readableBytes), .connection: "close"]
            )
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(self.wrapOutboundOut(.body(body)), promise: nil)
            // Closed a moment later, not at once: closing while the client is still sending makes
            // the kernel reset the connection, and a reset can discard the answer before the
            // client reads it. Meanwhile the parser discards what arrives.
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
                channel.eventLoop.scheduleTask(in: Self.lingerBeforeClosing) { channel.close(promise: nil) }
            }
        }
    }
}
