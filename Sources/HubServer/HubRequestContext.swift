public import HubAccess
public import HubAudit
public import HubFHIR
public import HubResources
public import Hummingbird
public import NIOCore
import NIOSSL

/// The per-request context: Hummingbird's core storage plus the connection the request came on,
/// so handlers can learn the client's network address and TLS client certificate.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP/TLS connection; used to read the peer address and certificate.
    public let channel: any Channel
    /// Who is calling; set by ``AuditMiddleware`` for the clinical and audit APIs.
    public var caller = Caller()
    /// What the handler reports to the audit trail.
    public let audit = RequestAudit()
    /// What the caller may do; set by ``AuthenticationMiddleware`` from its credentials.
    public var grant: AccessGrant?
    /// Why the credentials presented were refused (an ``AccessError``: 401/403), or could not be
    /// checked (a storage failure: 503); ``AccessGate`` answers it, inside the audit and error
    /// middleware so that it is recorded and answered like any other outcome.
    public var authenticationError: (any Error)?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Bodies are collected, and limited, by ``BodyLimitMiddleware`` before any handler decodes
    /// them; this keeps Hummingbird's own decoders from applying a second, different limit.
    public var maxUploadSize: Int { .max }

    /// What a clinical caller may see and write, having checked its scopes allow reading (or
    /// writing) `type`: 403 otherwise.
    public func recordAccess(_ type: ResourceType?, write: Bool = false) throws -> RecordAccess {
        guard var access = self.grant?.recordAccess else {
            throw APIError(.forbidden, code: .forbidden, diagnostics: "the clinical API is for hospital systems and clinicians")
        }
        access.targets = self.audit.targets
        if let type { try access.require(type, write: write) }
        return access
    }

    /// The port of the listener the request came in on.
    public var localPort: Int? {
        self.channel.localAddress?.port
    }

    /// The client's IP address (without port), for audit records and logs.
    public var remoteAddress: String? {
        self.channel.remoteAddress?.ipAddress
    }

    /// The client certificate presented in the TLS handshake, if any (already verified against
    /// `tls.client_ca` by the handshake itself).
    public func clientCertificate() async -> ClientCertificate? {
        guard let certificate = try? await self.channel.nioSSL_peerCertificate().get() else { return nil }
        return try? ClientCertificate(certificate)
    }
}
