import AsyncHTTPClient
import Foundation
import HTTPTypes
import HubClient
import HubConfig
import HubTestSupport
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOSSL
import Testing

@testable import HubServer

@Suite struct BodyLimitMiddlewareTests {
    @Test func aDeclaredOversizedBodyIsRefusedWith413() async throws {
        try await withHub({ $0.server.maxBodyBytes = 4096 }) { hub in
            let reply = try await hub.send(
                "POST",
                "/fhir/Patient",
                headers: [("Content-Type", "application/fhir+json")],
                body: Array(repeating: UInt8(ascii: " "), count: 10_000)
            )
            #expect(reply.status == 413)
            let issue = (try jsonObject(reply)["issue"] as? [[String: Any]])?.first
            #expect(issue?["code"] as? String == "too-long")
        }
    }

    @Test func aChunkedOversizedBodyIsRefusedWith413() async throws {
        try await withHub({ $0.server.maxBodyBytes = 4096 }) { hub in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(hub.pki.caCertificate)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            var request = HTTPClientRequest(url: hub.url + "/fhir/Patient")
            request.method = .POST
            let chunks = (0..<10).map { _ in ByteBuffer(repeating: UInt8(ascii: " "), count: 1000) }
            request.body = .stream(chunks.async, length: .unknown)
            let status = try? await client.execute(request, timeout: .seconds(10)).status.code
            try await client.shutdown()
            #expect(status == 413)
        }
    }

    @Test func aBodyWithinTheLimitPassesThrough() async throws {
        try await withHub({ $0.server.maxBodyBytes = 4096 }) { hub in
            // Within the limit the request reaches the route (whose gate wants a client certificate).
            let reply = try await hub.send("POST", "/fhir/Patient", body: Array(repeating: UInt8(ascii: " "), count: 100))
            #expect(reply.status == 401)
        }
    }
}

extension Array where Element == ByteBuffer {
    fileprivate var async: AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
