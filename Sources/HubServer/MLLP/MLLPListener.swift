import Foundation
public import HubAccess
public import HubAudit
import HubFHIR
import HubHL7
import HubResources
public import HubWorkflows
public import Logging
import NIOCore
import NIOPosix
public import NIOSSL
public import ServiceLifecycle

/// HL7 v2 over MLLP, for laboratory systems that do not speak HTTP: a TLS listener whose
/// senders are authenticated by their registered client certificates (mutual TLS is the only
/// credential MLLP carries). Each framed ORU^R01 goes through the same ``LabResultIntake`` as
/// `POST /hl7v2` and is answered with its framed ACK, in order, on the same connection.
/// A sender the hub does not accept gets an AR, recorded in the audit trail like any denial.
public struct MLLPListener: Service {
    let host: String
    let port: Int
    let tls: TLSConfiguration
    let authenticator: Authenticator
    let intake: LabResultIntake
    let auditWriter: AuditWriter
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    public init(
        host: String,
        port: Int,
        tls: TLSConfiguration,
        authenticator: Authenticator,
        intake: LabResultIntake,
        auditWriter: AuditWriter,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        var tls = tls
        // No sender without a certificate signed by the client CA.
        tls.certificateVerification = .noHostnameVerification
        self.tls = tls
        self.authenticator = authenticator
        self.intake = intake
        self.auditWriter = auditWriter
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let context = try NIOSSLContext(configuration: self.tls)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: self.host, port: self.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MLLPFrameDecoder(maximumBytes: HL7Message.maximumBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? self.port
        self.logger.notice("MLLP listening", metadata: ["port": "\(port)"])
        await self.onListening(port)
        do {
            // At shutdown, stop accepting and end open connections: senders resend what was not
            // acknowledged.
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        let address = channel.remoteAddress?.ipAddress
        do {
            try await connection.executeThenClose { frames, replies in
                for try await frame in frames {
                    // Known once the handshake is done, which a frame's arrival proves.
                    let certificate = try? await channel.nioSSL_peerCertificate().get()
                    let fingerprint = certificate.flatMap { try? ClientCertificate($0).fingerprintSHA256 }
                    let reply = await self.handle(Array(frame.readableBytesView), fingerprint: fingerprint, address: address)
                    try await replies.write(MLLPFrameDecoder.framed(reply))
                }
            }
        } catch {
            self.logger.debug("MLLP connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// The ACK for one message from the sender with this certificate.
    func handle(_ bytes: [UInt8], fingerprint: String?, address: String?) async -> [UInt8] {
        let requestID = UUID().uuidString.lowercased()
        var caller = Caller(client: fingerprint.map { "cert:" + $0.prefix(16) }, address: address, requestID: requestID)
        let refusal: AccessError
        do {
            let grant = try await self.authenticator.authenticate(.init(certificateSHA256: fingerprint))
            // A registered sender is named in the trail whether or not it may send results, so
            // its refusals count against its organization.
            if let grant { caller = grant.caller(address: address, requestID: requestID) }
            if let grant, grant.role == .system, var access = grant.recordAccess,
                access.permits(.observation, write: true), access.permits(.diagnosticReport, write: true)
            {
                // The same contract as HTTP: a refused message names the patient it aimed at.
                let targets = AuditTargets()
                access.targets = targets
                let outcome = try await self.intake.receive(bytes, access: access, audit: AuditContext(caller: caller, interaction: "hl7v2"))
                if outcome.code != .accepted {
                    await self.record(caller: caller, outcome: .minorFailure, issue: outcome.issue ?? .processing, targets: targets.noted)
                }
                return outcome.acknowledgementBytes
            }
            refusal =
                grant == nil
                ? AccessError(.unauthenticated, "the sender's certificate is not registered with the hub")
                : AccessError(.forbidden, "the sender may not submit lab results")
        } catch let error as AccessError {
            refusal = error
        } catch {
            self.logger.warning("MLLP message not processed", metadata: ["error": "\(error)"])
            // Recorded like any failed request (the trail may be down too: then only logged).
            await self.record(caller: caller, outcome: .seriousFailure, issue: .transient)
            let ack = HL7Acknowledgement(HL7Error(.applicationError, "the hub cannot store results right now; send again later"))
            return Self.reply(ack, to: bytes, controlID: requestID)
        }
        await self.record(caller: caller, outcome: .minorFailure, issue: refusal.code.issueType)
        let ack = HL7Acknowledgement(HL7Error(rejected: true, .applicationError, refusal.message))
        return Self.reply(ack, to: bytes, controlID: requestID)
    }

    /// `ack` answering the message in `bytes`, in its character set, as far as it can be read.
    static func reply(_ ack: HL7Acknowledgement, to bytes: [UInt8], controlID: String) -> [UInt8] {
        let decoded = try? HL7CharacterSet.decode(bytes)
        let original = decoded.flatMap { try? HL7Message(parsing: $0.text) }
        return (decoded?.characterSet ?? .utf8).encode(ack.encoded(answering: original, controlID: controlID))
    }

    /// Records a refused or failed message (stored ones are recorded with their writes): MLLP has
    /// no HTTP status, so the record says how it ended in the audit trail's own terms.
    func record(caller: Caller, outcome: AuditRecord.Outcome, issue: OperationOutcome.Issue.IssueType, targets: [String] = []) async {
        let records = AuditRecord.records(
            of: [], action: .create, interaction: "hl7v2", outcome: outcome, issue: issue, caller: caller, resourceType: "DiagnosticReport",
            targets: targets
        )
        do {
            try await self.auditWriter.write(records)
        } catch {
            self.logger.error("audit trail unavailable for an MLLP refusal", metadata: ["error": "\(error)"])
        }
    }
}
