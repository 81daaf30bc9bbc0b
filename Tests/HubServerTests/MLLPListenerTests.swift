import Foundation
import HubAuditCore
import HubClient
import HubConfig
import HubFHIR
import HubServer
import HubTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// HL7 v2 over MLLP (issue #6): framed ORU^R01 messages over mutual TLS, answered in order with
/// framed ACKs on the same connection.
@Suite struct MLLPListenerTests {
    /// Sends `messages` on one TLS connection presenting `identity`, returns the ACKs.
    static func exchange(port: Int, pki: TestPKI, messages: [[UInt8]]) async throws -> [String] {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.caCertificate)
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.clientCertificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.clientKey, format: .pem))
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MLLPFrameDecoder(maximumBytes: 1 << 20)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var replies: [String] = []
            var iterator = inbound.makeAsyncIterator()
            for message in messages {
                try await outbound.write(MLLPFrameDecoder.framed(Array(message)))
                guard let reply = try await iterator.next() else { break }
                replies.append(String(buffer: reply))
            }
            return replies
        }
    }

    static func code(_ ack: String) -> String {
        let msa = ack.split(separator: "\r").first { $0.hasPrefix("MSA|") }?.split(separator: "|", omittingEmptySubsequences: false) ?? []
        return msa.count > 1 ? String(msa[1]) : ""
    }

    @Test func labSystemsSendResultsOverMLLPWithTheirCertificates() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ configuration in
            configuration.tls.clientAuthentication = .optional
            configuration.hl7.mllpEnabled = true
            configuration.hl7.mllpPort = 0
        }) { hub in
            let port = try #require(hub.mllpPort)
            var people = SyntheticPatients(seed: 99)
            let person = people.person()
            let patient = try #require(
                try jsonObject(
                    try await hub.send(
                        "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON(person).utf8),
                        presenting: pki
                    ))["id"] as? String)

            // Two messages on one connection, the second malformed: AA then AE, in order.
            let acks = try await Self.exchange(
                port: port, pki: pki,
                messages: [
                    HL7IntakeTests.oru(residentID: person.residentID, control: "MLLP-1"),
                    HL7IntakeTests.oru(residentID: person.residentID, value: "high", control: "MLLP-2"),
                ])
            #expect(acks.count == 2)
            #expect(Self.code(acks[0]) == "AA", "\(acks.first ?? "")")
            #expect(acks[0].contains("|MLLP-1|"))
            #expect(Self.code(acks[1]) == "AE")
            #expect(acks[1].contains("OBX^5^5"))
            let count = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(count["total"] as? Int == 2)

            // A registered regulator's certificate is not a lab system's: AR, and nothing stored.
            let refused = try await Self.exchange(
                port: port, pki: pki.regulator, messages: [HL7IntakeTests.oru(residentID: person.residentID, control: "MLLP-3")])
            #expect(Self.code(refused.first ?? "") == "AR")
            let after = try jsonObject(try await hub.send("GET", "/fhir/Observation?subject=Patient/\(patient)&_summary=count", presenting: pki))
            #expect(after["total"] as? Int == 2)

            // The trail records all three in its own terms: MLLP has no HTTP status to give.
            let hl7 = try await AuditTrailTests.verifiedLog(hub, pki: pki).filter { $0.interaction == "hl7v2" }
            #expect(hl7.allSatisfy { $0.status == nil }, "\(hl7.map(\.status))")
            #expect(hl7.contains { $0.outcome == .success && $0.patient == patient && $0.entities.count == 3 })
            #expect(hl7.contains { $0.outcome == .minorFailure && $0.issue == .value && $0.caller.organization == TestHub.Identities.hospital })
            #expect(hl7.contains { $0.outcome == .minorFailure && $0.issue == .forbidden && $0.caller.organization == TestHub.Identities.commission })
        }
    }
}
