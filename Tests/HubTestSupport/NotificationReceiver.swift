import Foundation
import HubConfig
import HubServer
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A hospital's rest-hook endpoint, for notification tests: HTTPS with the test PKI's server
/// certificate, recording every POST, answering with a status the test sets.
public final class NotificationReceiver: Sendable {
    public struct Received: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]
    }

    let state = Mutex<(received: [Received], status: Int)>(([], 200))

    public init() {}

    public var received: [Received] { self.state.withLock { $0.received } }

    /// What the endpoint answers from now on.
    public func answer(_ status: Int) {
        self.state.withLock { $0.status = status }
    }

    /// Listens on `port` (0 for a free one) while `body` runs; `body` gets the bound port.
    public func whileListening<Result: Sendable>(
        port: Int = 0,
        pki: TestPKI,
        _ body: @Sendable (Int) async throws -> Result
    ) async throws -> Result {
        // A port given again (a test's endpoint, listened on after a pause) may meanwhile be the
        // local end of another test's connection: wait for it (up to 20 s) rather than fail.
        // The body has not run when binding fails.
        var attempts = 0
        while true {
            do {
                return try await self.listenOnce(port: port, pki: pki, body)
            } catch let error as IOError where port != 0 && error.errnoCode == EADDRINUSE && attempts < 40 {
                attempts += 1
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func listenOnce<Result: Sendable>(
        port: Int,
        pki: TestPKI,
        _ body: @Sendable (Int) async throws -> Result
    ) async throws -> Result {
        let router = Router()
        router.post("**") { request, context -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let status = self.state.withLock { state in
                state.received.append(Received(path: request.uri.path, headers: headers, body: Array(bytes.readableBytesView)))
                return state.status
            }
            return Response(status: .init(code: status))
        }
        var settings = HubConfiguration.TLS()
        settings.certificateChain = pki.serverCertificate
        settings.privateKey = pki.serverKey
        let tls = try ServerTLS.configuration(settings)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let logger = makeTestLogger("test.receiver")
        let application = Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let group = ServiceGroup(services: [application], logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next() else {
                _ = try await tasks.next()
                throw TestHub.StartFailure(description: "the receiver stopped before it listened")
            }
            do {
                let result = try await body(bound)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}
