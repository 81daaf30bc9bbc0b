import HubConfig
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// An audit record repository for the syslog feed's tests: TLS with the test PKI's server
/// certificate, octet-counted frames (RFC 5425), every message kept.
public final class SyslogReceiver: Sendable {
    let state = Mutex<[[UInt8]]>([])
    private let accepted = Atomic<Int>(0)

    public init() {}

    /// How many connections senders have opened so far.
    public var connections: Int { self.accepted.load(ordering: .relaxed) }

    /// The messages received so far (the syslog messages, without their length prefix).
    public var messages: [[UInt8]] { self.state.withLock { $0 } }

    /// Listens on `port` (0 for a free one) while `body` runs.
    public func whileListening<Result: Sendable>(port: Int = 0, pki: TestPKI, _ body: @Sendable (Int) async throws -> Result) async throws -> Result {
        let chain = try NIOSSLCertificate.fromPEMFile(pki.serverCertificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: pki.serverKey, format: .pem)
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                self.accepted.add(1, ordering: .relaxed)
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(OctetCountingDecoder()))
                    try child.pipeline.syncOperations.addHandler(Collector(receiver: self))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        do {
            let result = try await body(channel.localAddress?.port ?? 0)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// `MSG-LEN SP SYSLOG-MSG` frames.
    struct OctetCountingDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer

        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            let view = buffer.readableBytesView
            guard let space = view.prefix(12).firstIndex(of: UInt8(ascii: " ")) else { return .needMoreData }
            guard let length = Int(String(decoding: view[view.startIndex..<space], as: UTF8.self)) else {
                throw ByteToMessageDecoderError.leftoverDataWhenDone(buffer)
            }
            let prefix = space - view.startIndex + 1
            guard buffer.readableBytes >= prefix + length else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: prefix)
            context.fireChannelRead(NIOAny(buffer.readSlice(length: length)!))
            return .continue
        }
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let receiver: SyslogReceiver

        init(receiver: SyslogReceiver) {
            self.receiver = receiver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let message = Array(buffer: self.unwrapInboundIn(data))
            self.receiver.state.withLock { $0.append(message) }
        }
    }
}
