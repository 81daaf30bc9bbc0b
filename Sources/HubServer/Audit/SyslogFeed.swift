import Foundation
public import HubAudit
import HubConfig
import HubFHIR
import HubStorage
public import HubWorkflows
public import Logging
import NIOCore
import NIOPosix
public import NIOSSL
public import ServiceLifecycle

/// Feeds every audit record to an audit record repository as it is integrated: a FHIR R4
/// AuditEvent in an RFC 5424 syslog message, octet-counted over TLS (RFC 5425) — IHE ATNA's
/// Record Audit Event transport, with the AuditEvent as the message.
///
/// At-least-once: the position (the next log index to send) is kept in PostgreSQL and advanced
/// only after a batch was written to the connection, so a hub restarted mid-batch sends it again;
/// a repository that is down is retried with back-off and nothing is skipped. Of several hubs on
/// one database, one sends at a time: the holder of a lease in `audit_feeds`, renewed at each
/// round and given up at shutdown.
public struct SyslogFeed: Service {
    public static let feedName = "syslog"
    /// How long this hub keeps the feed without renewing it (it renews at every round, at
    /// least every 30 s while the repository is down): when it dies, another hub takes over
    /// after this.
    static let lease: Duration = .seconds(60)

    let log: AuditLog
    let host: String
    let port: Int
    let tls: TLSConfiguration
    let addresses: OutboundAddressPolicy
    let hostname: String
    /// This process's name as the feed's holder: hubs sharing a database send it one at a time.
    let holder = UUID().uuidString
    let logger: Logger

    /// - Parameter tls: The client TLS configuration (the repository's trust roots; the hub's
    ///   certificate as client identity when the repository asks for one).
    ///   - addresses: Which addresses the feed may connect to (`audit.syslog_allowed_networks`),
    ///     checked at every connection after resolving the name; it connects to the checked one.
    public init(log: AuditLog, host: String, port: Int, tls: TLSConfiguration, addresses: OutboundAddressPolicy, logger: Logger) {
        self.log = log
        self.host = host
        self.port = port
        self.tls = tls
        self.addresses = addresses
        // RFC 5424 HOSTNAME: printable US-ASCII, at most 255.
        let name = ProcessInfo.processInfo.hostName.filter { $0.isASCII && !$0.isWhitespace }
        self.hostname = name.isEmpty ? "-" : String(name.prefix(255))
        self.logger = logger
    }

    public func run() async throws {
        let context = try NIOSSLContext(configuration: self.tls)
        var channel: (any Channel)?
        // A repository that is down is retried from 1 s, doubling up to 30 s; nothing is skipped.
        var backoff = Backoff(interval: .seconds(1), ceiling: .seconds(30))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let decision: Backoff.Decision
            do {
                guard let next = try await self.log.claimFeed(Self.feedName, holder: self.holder, for: Self.lease) else {
                    // Another hub sends the feed; this one stands by to take over.
                    try? await channel?.close()
                    channel = nil
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                let size = try await self.log.size()
                if next < size {
                    let range = next..<min(next + 500, size)
                    let records = try await self.log.records(range)
                    if channel == nil || channel?.isActive != true { channel = try await self.connect(context) }
                    var buffer = ByteBufferAllocator().buffer(capacity: records.count * 1_024)
                    for (offset, leaf) in records.enumerated() {
                        let message = Self.message(try AuditRecord(leafBytes: leaf), index: range.lowerBound + offset, hostname: self.hostname)
                        buffer.writeString("\(message.count) ")
                        buffer.writeBytes(message)
                    }
                    try await channel!.writeAndFlush(buffer).get()
                    try await self.log.advanceFeed(Self.feedName, to: range.upperBound)
                    _ = backoff.succeeded()
                    continue
                }
                decision = backoff.succeeded()
            } catch {
                decision = backoff.failed()
                if decision.report { self.logger.warning("audit syslog feed failed; will retry", metadata: ["error": "\(error)"]) }
                try? await channel?.close()
                channel = nil
            }
            try? await Task.sleep(for: decision.pause)
        }
        try? await channel?.close()
        try? await self.log.releaseFeed(Self.feedName, holder: self.holder)
    }

    func connect(_ context: NIOSSLContext) async throws -> any Channel {
        let host = self.host
        let checked = try await self.addresses.checkedAddresses(host: host)
        // SNI and name checks take a DNS name; an address is checked against the certificate's IP entries.
        let serverHostname = host.contains(where: \.isLetter) && !host.contains(":") ? host : nil
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                }
            }
            .connect(to: try SocketAddress(ipAddress: checked[0].description, port: self.port))
            .get()
    }

    /// One RFC 5424 message: facility 10 (security/authorization), severity notice for a
    /// success and warning for a failure; APP-NAME `health-hub`, MSGID `AuditEvent`, no
    /// structured data, and the AuditEvent JSON (its log index in an extension) as a UTF-8 MSG
    /// with its BOM.
    static func message(_ record: AuditRecord, index: Int, hostname: String) -> [UInt8] {
        let priority = 10 * 8 + (record.outcome == .success ? 5 : 4)
        let header = "<\(priority)>1 \(UTCTime(record.time).instant) \(hostname) health-hub - AuditEvent - "
        return Array(header.utf8) + [0xEF, 0xBB, 0xBF] + JSONValue.object(record.fhirAuditEvent(logIndex: index)).serialized()
    }
}
