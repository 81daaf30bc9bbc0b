import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay between the hub and PostgreSQL that a test can cut and restore, to see what the
/// hub does when its database goes away and comes back (the real database stays up for the
/// other tests running in parallel).
public final class TCPProxy: Sendable {
    /// The port the proxy listens on (127.0.0.1).
    public let port: Int
    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var isUp = true
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    /// Starts relaying 127.0.0.1:`port` to `targetHost`:`targetPort`.
    public init(targetHost: String, targetPort: Int) async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                let accept = state.withLockedValue { $0.isUp }
                guard accept else {
                    return inbound.close()
                }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: targetHost, port: targetPort)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(RelayHandler(peer: outbound))
                        try outbound.pipeline.syncOperations.addHandler(RelayHandler(peer: inbound))
                        let stillUp = state.withLockedValue {
                            $0.channels[ObjectIdentifier(inbound)] = inbound
                            $0.channels[ObjectIdentifier(outbound)] = outbound
                            return $0.isUp
                        }
                        // Cut while this one was connecting: it goes the way of the rest.
                        if !stillUp {
                            inbound.close(promise: nil)
                            outbound.close(promise: nil)
                        }
                        let forget: @Sendable (Result<Void, any Error>) -> Void = { _ in
                            state.withLockedValue {
                                $0.channels[ObjectIdentifier(inbound)] = nil
                                $0.channels[ObjectIdentifier(outbound)] = nil
                            }
                        }
                        inbound.closeFuture.whenComplete(forget)
                        outbound.closeFuture.whenComplete(forget)
                    }
            }
        self.serverChannel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        self.port = self.serverChannel.localAddress?.port ?? 0
    }

    /// Closes every relayed connection and refuses new ones, as a stopped database would.
    public func cut() {
        let channels = self.state.withLockedValue { state in
            state.isUp = false
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }

    /// Accepts and relays connections again.
    public func restore() {
        self.state.withLockedValue { $0.isUp = true }
    }

    public func close() async throws {
        self.cut()
        try await self.serverChannel.close()
    }
}

/// Writes what one side reads to the other, and closes the other when one closes.
private final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let peer: any Channel

    init(peer: any Channel) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.peer.writeAndFlush(self.unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
