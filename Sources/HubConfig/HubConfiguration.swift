/// Everything the hub reads at start, as one value.
///
/// Built once by ``load(file:environment:)`` from defaults, then the configuration file, then
/// `HUB_…` environment variables (later wins), and validated before anything starts. Nothing
/// reads configuration after that: services receive the parts they need through `init`.
public struct HubConfiguration: Sendable, Equatable {
    public var server: Server
    public var tls: TLS
    public var database: Database
    public var crypto: Crypto
    public var fhir: FHIR
    public var audit: Audit
    public var access: Access
    public var hl7: HL7
    public var subscriptions: Subscriptions
    public var export: Export
    public var openData: OpenData
    public var log: Log

    public init(
        server: Server = .init(),
        tls: TLS = .init(),
        database: Database = .init(),
        crypto: Crypto = .init(),
        fhir: FHIR = .init(),
        audit: Audit = .init(),
        access: Access = .init(),
        hl7: HL7 = .init(),
        subscriptions: Subscriptions = .init(),
        export: Export = .init(),
        openData: OpenData = .init(),
        log: Log = .init()
    ) {
        self.server = server
        self.tls = tls
        self.database = database
        self.crypto = crypto
        self.fhir = fhir
        self.audit = audit
        self.access = access
        self.hl7 = hl7
        self.subscriptions = subscriptions
        self.export = export
        self.openData = openData
        self.log = log
    }

    /// The HTTPS listener.
    public struct Server: Sendable, Equatable {
        /// Address to bind. Default `127.0.0.1`: exposing the hub is a deliberate act.
        public var host: String = "127.0.0.1"
        /// Port to bind; 0 picks a free one (tests). Default 8443.
        public var port: Int = 8443
        /// Largest request body accepted; larger ones get 413. Default 8 MiB, enough for a
        /// transaction Bundle of a few hundred resources.
        public var maxBodyBytes: Int = 8 * 1024 * 1024
        /// The URL clients reach the hub at (behind a proxy or a DNS name), for the absolute
        /// URLs the hub writes into what it sends (notification Bundles). Default
        /// `https://host:port`.
        public var publicURL: String?
        /// Seconds between SIGTERM and the listener closing, during which `/readyz` answers 503
        /// and requests are still served: at least a load balancer's health-check interval
        /// times its fall count. Default 0 (no balancer in front).
        public var drainDelaySeconds: Int = 0
        /// Whether a connection's requests are served on the event loop that owns it (fewer
        /// thread hops per request, but a long request holds the loop of every connection on it),
        /// or on Swift's global executor as Hummingbird does. Default false: the gain measured is
        /// within the noise (docs/performance.md); `ops/bench/audit-overhead --compare` measures it.
        public var handlersOnEventLoop: Bool = false

        /// ``publicURL``, or the listener's own address.
        public var baseURL: String { self.publicURL ?? "https://\(self.host):\(self.port)" }

        public init() {}
    }

    /// TLS for the listener. The hub speaks HTTPS only.
    public struct TLS: Sendable, Equatable {
        /// PEM file with the server certificate (and its chain).
        public var certificateChain: String?
        /// PEM file with the server's private key.
        public var privateKey: String?
        /// PEM file with the CA certificates whose client certificates are accepted.
        public var clientCA: String?
        /// Whether hospital systems present client certificates. Default `off`.
        public var clientAuthentication: ClientAuthentication = .off
        /// Lowest TLS version accepted. Default 1.2 (swift-nio-ssl's own default is 1.0).
        public var minimumVersion: TLSVersion = .v1_2

        public init() {}
    }

    /// Mutual TLS policy.
    public enum ClientAuthentication: String, Sendable, CaseIterable {
        /// No client certificate is asked for.
        case off
        /// A client certificate is asked for; one that is sent must verify against `client_ca`.
        case optional
        /// The handshake fails without a client certificate that verifies against `client_ca`.
        case required
    }

    public enum TLSVersion: String, Sendable, CaseIterable {
        case v1_2 = "1.2"
        case v1_3 = "1.3"
    }

    /// PostgreSQL.
    public struct Database: Sendable, Equatable {
        /// Where the database is; see ``DatabaseURL``.
        public var url: DatabaseURL?
        /// Connections in the pool. Default 4: about twice the cores of a small host, which
        /// measured faster than larger pools (fewer context switches, better statement reuse).
        public var maxConnections: Int = 4
        /// How long to wait for a new connection before a request fails with 503. Default 5 s.
        public var connectTimeoutSeconds: Int = 5
        /// How long one database operation may take (including waiting for a connection)
        /// before the request fails with 503. Default 10 s.
        public var operationTimeoutSeconds: Int = 10
        /// Megabytes of the database's disk held in reserve for the audit trail, released when
        /// the disk fills so that reads go on while writes are refused. 0 turns it off.
        public var diskReserveMegabytes: Int = 64
        /// Seconds between tries, while the disk is full, to fill the reserve again (and accept
        /// writes once it and as much again fit).
        public var diskRetrySeconds: Int = 10
        /// Apply pending migrations when `hub serve` starts. Default false: production
        /// migrates explicitly with `hub migrate`.
        public var migrateOnStart: Bool = false
        /// Folder with the numbered `.sql` migrations. Default `migrations`.
        public var migrationsDirectory: String = "migrations"
        /// Accept a database across the network whose certificate is not verified (`sslmode`
        /// disable, prefer or require). Default false: such a URL is refused at start, as
        /// whoever sits on the path would see every record and credential.
        public var allowUnverifiedTLS: Bool = false

        public init() {}
    }

    /// Cryptography: the suite new data is written with, and where the keys are.
    public struct Crypto: Sendable, Equatable {
        /// The crypto profile: `profiles_directory/<profile>.toml`. Default `sm`, the Chinese
        /// national suite; `intl` is the international one.
        public var profile: String = "sm"
        /// Folder of crypto profiles. Default `profiles/crypto`.
        public var profilesDirectory: String = "profiles/crypto"
        /// The key store. Only `file` (development) exists today; a hardware module would be another.
        public var keyStore: KeyStoreKind = .file
        /// Folder of the file key store. Default `.hub/keys`.
        public var keyDirectory: String = ".hub/keys"
        /// Create missing keys when `hub serve` starts. Default false: production creates keys
        /// deliberately with `hub keys generate`.
        public var generateKeys: Bool = false

        public init() {}
    }

    public enum KeyStoreKind: String, Sendable, CaseIterable {
        case file
    }

    /// The audit trail.
    public struct Audit: Sendable, Equatable {
        /// The log's name in its signed checkpoints, a schema-less URL by signed-note custom
        /// (`hub.example.org/audit`). Changing it starts a new series of checkpoints for verifiers.
        public var origin: String = "hub.local/audit"
        /// How often a checkpoint is signed when the log has grown. Default 10 s.
        public var checkpointIntervalSeconds: Int = 10
        /// An audit record repository to feed over syslog/TLS (RFC 5424/5425, as IHE ATNA's
        /// Record Audit Event does); unset, no feed.
        public var syslogHost: String?
        /// Its port. Default 6514 (syslog over TLS).
        public var syslogPort: Int = 6514
        /// PEM file of the CAs trusted for the repository; unset, the system's.
        public var syslogTrustRoots: String?
        /// Internal networks the repository may be on: like a subscriber's endpoint, the feed
        /// connects only to public addresses unless the operator allows a network (an audit
        /// repository inside the commission's network is the usual case: allow it by name).
        public var syslogAllowedNetworks: [IPNetwork] = []
        /// Whether reads, searches and denials are recorded. Always, except to measure what
        /// recording costs: `hub serve` refuses `false` unless `HUB_BENCHMARK_ONLY=1` is set.
        /// Writes are recorded in their transaction regardless.
        public var recordReads: Bool = true

        public init() {}
    }

    /// Authentication and authorization (docs/security.md).
    public struct Access: Sendable, Equatable {
        /// How long a bearer token lives. Default 60 minutes.
        public var tokenLifetimeMinutes: Int = 60
        /// How long a break-glass token lives. Default 60 minutes.
        public var breakGlassMinutes: Int = 60
        /// Failed logins (token requests) one principal may make per window before every
        /// attempt is refused for a while (429). Default 10 per 15 minutes.
        public var failedLoginLimit: Int = 10
        public var failedLoginWindowMinutes: Int = 15
        /// Registrations by resident ID card (lookups beyond what the caller sees) one principal
        /// may make per window. Default 100 per 60 minutes.
        public var registrationLimit: Int = 100
        public var registrationWindowMinutes: Int = 60
        /// Patients one organization may try to create with a resident ID number another
        /// Patient has (409) per registration window; beyond, such creates are refused (429)
        /// before the check. Default 20: a hospital registers known patients by card instead.
        public var identifierConflictLimit: Int = 20

        public init() {}
    }

    /// HL7 v2 over MLLP (lab systems that do not speak HTTP).
    public struct HL7: Sendable, Equatable {
        /// Whether the MLLP listener runs (over TLS, senders authenticated by their registered
        /// client certificates). Default false.
        public var mllpEnabled: Bool = false
        /// Its port; 0 picks a free one. Default 2575 (IANA's port for HL7 over MLLP).
        public var mllpPort: Int = 2575

        public init() {}
    }

    /// Notifications for FHIR Subscriptions (rest-hook), docs/workflows.md.
    public struct Subscriptions: Sendable, Equatable {
        /// The first retry of a failed notification; each next waits twice as long. Default 10.
        public var retryInitialSeconds: Int = 10
        /// The longest wait between retries. Default 600.
        public var retryMaxSeconds: Int = 600
        /// How long after it was queued a notification is given up (dead-lettered). Default
        /// 86400 (a day).
        public var giveUpAfterSeconds: Int = 86_400
        /// How often the hub looks for new events and due retries. Default 500.
        public var pollMilliseconds: Int = 500
        /// Deadline of one delivery, connection included. Default 10.
        public var deliveryTimeoutSeconds: Int = 10
        /// PEM file of the CAs trusted for subscribers' endpoints; unset, the system's.
        public var trustRoots: String?
        /// Internal networks (loopback, private, link-local…) the hub may nevertheless deliver
        /// to. Default none: a subscription cannot make the hub probe its own networks.
        public var allowedEndpointNetworks: [IPNetwork] = []

        public init() {}
    }

    /// FHIR Bulk Data export (`$export`).
    public struct Export: Sendable, Equatable {
        /// How long a finished export's files stay for download before they are deleted (and
        /// their key erased). Default 24.
        public var fileLifetimeHours: Int = 24
        /// How often the hub looks for export jobs to run when idle; also the `Retry-After`
        /// a client polling a running job is given. Default 1000.
        public var pollMilliseconds: Int = 1_000
        /// How long a hub holds a job without finishing a page before another hub takes it
        /// over. Default 60.
        public var leaseSeconds: Int = 60

        public init() {}
    }

    /// De-identified open data (docs/open-data.md).
    public struct OpenData: Sendable, Equatable {
        /// The smallest class a release may publish; a dataset may ask for more, never less.
        /// Default 10.
        public var minimumK: Int = 10
        /// The share of patients that may be suppressed before a quasi-identifier is
        /// generalized further. Default 5.
        public var maximumSuppressionPercent: Int = 5
        /// How often the hub looks for releases to compute when idle. Default 5000.
        public var pollMilliseconds: Int = 5_000
        /// How long a hub holds a computation without renewing before another takes it. Default 300.
        public var leaseSeconds: Int = 300
        /// The most ε a dataset's published releases may spend together. Default 10.
        public var epsilonBudget: Int = 10

        public init() {}
    }

    /// The FHIR API.
    public struct FHIR: Sendable, Equatable {
        /// Folder of the hub's FHIR profiles (identifier systems and their rules). Default
        /// `profiles/fhir`.
        public var profilesDirectory: String = "profiles/fhir"

        public init() {}
    }

    /// Logging.
    public struct Log: Sendable, Equatable {
        public var level: LogLevel = .info
        public var format: LogFormat = .text

        public init() {}
    }

    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public enum LogFormat: String, Sendable, CaseIterable {
        /// `key=value` lines for people.
        case text
        /// One JSON object per line for log collectors.
        case json
    }
}
