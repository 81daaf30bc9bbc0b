import Foundation

/// The table of settings: one row per setting, its documentation and how it is applied.
///
/// The file, the environment and `hub config settings` all read this one table, so a setting
/// cannot exist in one place and be missing in another.
public struct Setting: Sendable {
    /// Dotted name as used in the file: `section.key`.
    public let name: String
    /// One line for `hub config settings` and the docs.
    public let summary: String
    /// Whether the value is secret (never printed back).
    public let isSecret: Bool
    let apply: @Sendable (inout HubConfiguration, ConfigEntry) throws(ConfigurationError) -> Void
    let current: @Sendable (HubConfiguration) -> String?

    /// The environment variable that overrides this setting: `HUB_SECTION_KEY`.
    public var environmentName: String {
        "HUB_" + self.name.replacingDots().uppercased()
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(self.map { $0 == "." ? "_" : $0 })
    }
}

extension HubConfiguration {
    /// Every setting the hub understands, in the order `hub config` lists them.
    ///
    /// (Long on purpose: one self-contained entry per setting — name, summary, how it is read
    /// and shown — is the table operators and reviewers read top to bottom; splitting it by
    /// section would only scatter it.)
    public static let settings: [Setting] = [
        Setting(
            name: "server.host", summary: "address to listen on (default 127.0.0.1)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                let host = try entry.string("server.host").trimmingSpaces()
                guard !host.isEmpty else {
                    throw ConfigurationError(setting: "server.host", message: "must not be empty", origin: entry.origin)
                }
                config.server.host = host
            },
            current: { $0.server.host }
        ),
        Setting(
            name: "server.port", summary: "TCP port to listen on; 0 picks a free port (default 8443)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.server.port = try entry.integer("server.port", in: 0...65535)
            },
            current: { String($0.server.port) }
        ),
        Setting(
            name: "server.drain_delay_seconds",
            summary: "seconds /readyz answers 503 after SIGTERM before the listener closes; set above the load balancer's check interval (default 0)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.server.drainDelaySeconds = try entry.integer("server.drain_delay_seconds", in: 0...300)
            },
            current: { String($0.server.drainDelaySeconds) }
        ),
        Setting(
            name: "server.handlers_on_event_loop",
            summary: "serve a connection's requests on its own event loop rather than Swift's global executor (default false)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.server.handlersOnEventLoop = try entry.boolean("server.handlers_on_event_loop")
            },
            current: { String($0.server.handlersOnEventLoop) }
        ),
        Setting(
            name: "server.max_body_bytes", summary: "largest request body; larger gets 413 (default 8388608)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.server.maxBodyBytes = try entry.integer("server.max_body_bytes", in: 1024...(1 << 30))
            },
            current: { String($0.server.maxBodyBytes) }
        ),
        Setting(
            name: "tls.certificate_chain", summary: "PEM file: server certificate and chain (required)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.tls.certificateChain = try entry.string("tls.certificate_chain")
            },
            current: { $0.tls.certificateChain }
        ),
        Setting(
            name: "tls.private_key", summary: "PEM file: server private key (required)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.tls.privateKey = try entry.string("tls.private_key")
            },
            current: { $0.tls.privateKey }
        ),
        Setting(
            name: "tls.client_ca", summary: "PEM file: CAs trusted for client certificates (required unless client_auth is off)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.tls.clientCA = try entry.string("tls.client_ca")
            },
            current: { $0.tls.clientCA }
        ),
        Setting(
            name: "tls.client_auth", summary: "mutual TLS: off, optional or required (default off)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.tls.clientAuthentication = try entry.choice("tls.client_auth", as: ClientAuthentication.self)
            },
            current: { $0.tls.clientAuthentication.rawValue }
        ),
        Setting(
            name: "tls.minimum_version", summary: "lowest TLS version: 1.2 or 1.3 (default 1.2)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.tls.minimumVersion = try entry.choice("tls.minimum_version", as: TLSVersion.self)
            },
            current: { $0.tls.minimumVersion.rawValue }
        ),
        Setting(
            name: "database.url", summary: "PostgreSQL URL, postgres://user:password@host:port/db?sslmode=… (required)",
            isSecret: true,
            apply: { config, entry throws(ConfigurationError) in
                let text = try entry.string("database.url")
                do throws(DatabaseURL.ParseError) {
                    config.database.url = try DatabaseURL(parsing: text)
                } catch {
                    throw ConfigurationError(setting: "database.url", message: error.message, origin: entry.origin)
                }
            },
            current: { $0.database.url?.redacted }
        ),
        Setting(
            name: "database.max_connections",
            summary: "connections for requests and background work (default 4; one more hears access changes)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.maxConnections = try entry.integer("database.max_connections", in: 1...1000)
            },
            current: { String($0.database.maxConnections) }
        ),
        Setting(
            name: "database.connect_timeout_seconds", summary: "wait for a new connection (default 5)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.connectTimeoutSeconds = try entry.integer("database.connect_timeout_seconds", in: 1...300)
            },
            current: { String($0.database.connectTimeoutSeconds) }
        ),
        Setting(
            name: "database.operation_timeout_seconds",
            summary: "limit for one database operation before 503 (default 10)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.operationTimeoutSeconds = try entry.integer(
                    "database.operation_timeout_seconds",
                    in: 1...3600
                )
            },
            current: { String($0.database.operationTimeoutSeconds) }
        ),
        Setting(
            name: "database.disk_reserve_mb",
            summary: "disk held in reserve for the audit trail, released when the database's disk fills (default 64; 0: off)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.diskReserveMegabytes = try entry.integer("database.disk_reserve_mb", in: 0...65536)
            },
            current: { String($0.database.diskReserveMegabytes) }
        ),
        Setting(
            name: "database.disk_retry_seconds",
            summary: "while the database's disk is full, seconds between tries to refill the reserve and accept writes (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.diskRetrySeconds = try entry.integer("database.disk_retry_seconds", in: 1...3600)
            },
            current: { String($0.database.diskRetrySeconds) }
        ),
        Setting(
            name: "database.migrate_on_start", summary: "apply pending migrations at serve start (default false)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.migrateOnStart = try entry.boolean("database.migrate_on_start")
            },
            current: { String($0.database.migrateOnStart) }
        ),
        Setting(
            name: "database.migrations_directory", summary: "folder of numbered .sql migrations (default migrations)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.migrationsDirectory = try entry.string("database.migrations_directory")
            },
            current: { $0.database.migrationsDirectory }
        ),
        Setting(
            name: "database.allow_unverified_tls",
            summary: "accept a database across the network without verifying its certificate (sslmode disable/prefer/require; default false)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.database.allowUnverifiedTLS = try entry.boolean("database.allow_unverified_tls")
            },
            current: { String($0.database.allowUnverifiedTLS) }
        ),
        Setting(
            name: "crypto.profile", summary: "crypto profile: sm (default) or intl, from crypto.profiles_directory",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                let name = try entry.string("crypto.profile").trimmingSpaces()
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw ConfigurationError(setting: "crypto.profile", message: "must be a profile name such as sm or intl", origin: entry.origin)
                }
                config.crypto.profile = name
            },
            current: { $0.crypto.profile }
        ),
        Setting(
            name: "crypto.profiles_directory", summary: "folder of crypto profiles (default profiles/crypto)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.crypto.profilesDirectory = try entry.string("crypto.profiles_directory")
            },
            current: { $0.crypto.profilesDirectory }
        ),
        Setting(
            name: "crypto.key_store", summary: "key store: file (default; development)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.crypto.keyStore = try entry.choice("crypto.key_store", as: KeyStoreKind.self)
            },
            current: { $0.crypto.keyStore.rawValue }
        ),
        Setting(
            name: "crypto.key_directory", summary: "folder of the file key store (default .hub/keys)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.crypto.keyDirectory = try entry.string("crypto.key_directory")
            },
            current: { $0.crypto.keyDirectory }
        ),
        Setting(
            name: "crypto.generate_keys", summary: "create missing keys at serve start (default false)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.crypto.generateKeys = try entry.boolean("crypto.generate_keys")
            },
            current: { String($0.crypto.generateKeys) }
        ),
        Setting(
            name: "fhir.profiles_directory", summary: "folder of the hub's FHIR profiles (default profiles/fhir)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.fhir.profilesDirectory = try entry.string("fhir.profiles_directory")
            },
            current: { $0.fhir.profilesDirectory }
        ),
        Setting(
            name: "audit.origin", summary: "the audit log's name in signed checkpoints (default hub.local/audit)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                let origin = try entry.string("audit.origin")
                guard !origin.isEmpty, !origin.contains(where: { $0 == " " || $0 == "\n" || $0.asciiValue.map { $0 < 0x20 } == true }) else {
                    throw ConfigurationError(setting: "audit.origin", message: "must be a non-empty name without spaces, e.g. hub.example.org/audit")
                }
                config.audit.origin = origin
            },
            current: { $0.audit.origin }
        ),
        Setting(
            name: "audit.checkpoint_interval_seconds", summary: "how often a checkpoint is signed while the log grows (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.checkpointIntervalSeconds = try entry.integer("audit.checkpoint_interval_seconds", in: 1...86_400)
            },
            current: { String($0.audit.checkpointIntervalSeconds) }
        ),
        Setting(
            name: "audit.record_reads", summary: "benchmarks only: false stops recording reads (needs HUB_BENCHMARK_ONLY=1)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.recordReads = try entry.boolean("audit.record_reads")
            },
            current: { String($0.audit.recordReads) }
        ),
        Setting(
            name: "audit.syslog_host", summary: "feed the audit records to this repository over syslog/TLS (RFC 5424/5425); unset, no feed",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.syslogHost = try entry.string("audit.syslog_host")
            },
            current: { $0.audit.syslogHost }
        ),
        Setting(
            name: "audit.syslog_port", summary: "the repository's syslog/TLS port (default 6514)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.syslogPort = try entry.integer("audit.syslog_port", in: 1...65_535)
            },
            current: { String($0.audit.syslogPort) }
        ),
        Setting(
            name: "audit.syslog_allowed_networks",
            summary:
                "comma-separated CIDRs of internal networks the syslog repository may be on (default none: loopback, private and link-local refused)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.syslogAllowedNetworks = try entry.networks("audit.syslog_allowed_networks")
            },
            current: { $0.audit.syslogAllowedNetworks.isEmpty ? nil : $0.audit.syslogAllowedNetworks.map(\.description).joined(separator: ",") }
        ),
        Setting(
            name: "audit.syslog_trust_roots", summary: "PEM file: CAs trusted for the syslog repository (default: the system's)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.audit.syslogTrustRoots = try entry.string("audit.syslog_trust_roots")
            },
            current: { $0.audit.syslogTrustRoots }
        ),
        Setting(
            name: "access.token_lifetime_minutes", summary: "how long a bearer token lives (default 60)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.tokenLifetimeMinutes = try entry.integer("access.token_lifetime_minutes", in: 1...1_440)
            },
            current: { String($0.access.tokenLifetimeMinutes) }
        ),
        Setting(
            name: "access.break_glass_minutes", summary: "how long a break-glass (emergency) token lives (default 60)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.breakGlassMinutes = try entry.integer("access.break_glass_minutes", in: 1...1_440)
            },
            current: { String($0.access.breakGlassMinutes) }
        ),
        Setting(
            name: "access.failed_login_limit", summary: "failed token requests a principal may make per window before it waits (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.failedLoginLimit = try entry.integer("access.failed_login_limit", in: 1...10_000)
            },
            current: { String($0.access.failedLoginLimit) }
        ),
        Setting(
            name: "access.failed_login_window_minutes", summary: "the window of access.failed_login_limit, in minutes (default 15)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.failedLoginWindowMinutes = try entry.integer("access.failed_login_window_minutes", in: 1...1_440)
            },
            current: { String($0.access.failedLoginWindowMinutes) }
        ),
        Setting(
            name: "access.registration_limit", summary: "registrations by resident ID card a principal may make per window (default 100)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.registrationLimit = try entry.integer("access.registration_limit", in: 1...1_000_000)
            },
            current: { String($0.access.registrationLimit) }
        ),
        Setting(
            name: "access.identifier_conflict_limit",
            summary: "Patient creates an organization may make per registration window with a resident ID number already registered (default 20)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.identifierConflictLimit = try entry.integer("access.identifier_conflict_limit", in: 1...1_000_000)
            },
            current: { String($0.access.identifierConflictLimit) }
        ),
        Setting(
            name: "access.registration_window_minutes", summary: "the window of access.registration_limit, in minutes (default 60)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.access.registrationWindowMinutes = try entry.integer("access.registration_window_minutes", in: 1...1_440)
            },
            current: { String($0.access.registrationWindowMinutes) }
        ),
        Setting(
            name: "hl7.mllp_enabled", summary: "run the HL7 v2 MLLP listener (TLS, registered client certificates; default false)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.hl7.mllpEnabled = try entry.boolean("hl7.mllp_enabled")
            },
            current: { String($0.hl7.mllpEnabled) }
        ),
        Setting(
            name: "hl7.mllp_port", summary: "the MLLP listener's port, 0 for any free one (default 2575)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.hl7.mllpPort = try entry.integer("hl7.mllp_port", in: 0...65_535)
            },
            current: { String($0.hl7.mllpPort) }
        ),
        Setting(
            name: "server.public_url",
            summary:
                "the URL clients reach the hub at: URLs in notifications, and the base of absolute references stored relative (default https://host:port)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                let url = try entry.string("server.public_url")
                guard url.hasPrefix("https://"), !url.hasSuffix("/") else {
                    throw ConfigurationError(setting: "server.public_url", message: "an https URL without a trailing slash")
                }
                config.server.publicURL = url
            },
            current: { $0.server.publicURL }
        ),
        Setting(
            name: "subscriptions.retry_initial_seconds", summary: "first retry of a failed notification, doubling after (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.retryInitialSeconds = try entry.integer("subscriptions.retry_initial_seconds", in: 1...3_600)
            },
            current: { String($0.subscriptions.retryInitialSeconds) }
        ),
        Setting(
            name: "subscriptions.retry_max_seconds", summary: "longest wait between notification retries (default 600)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.retryMaxSeconds = try entry.integer("subscriptions.retry_max_seconds", in: 1...86_400)
            },
            current: { String($0.subscriptions.retryMaxSeconds) }
        ),
        Setting(
            name: "subscriptions.give_up_after_seconds", summary: "after this long a notification is dead-lettered (default 86400)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.giveUpAfterSeconds = try entry.integer("subscriptions.give_up_after_seconds", in: 1...2_592_000)
            },
            current: { String($0.subscriptions.giveUpAfterSeconds) }
        ),
        Setting(
            name: "subscriptions.poll_milliseconds", summary: "how often new events and due retries are looked for (default 500)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.pollMilliseconds = try entry.integer("subscriptions.poll_milliseconds", in: 50...60_000)
            },
            current: { String($0.subscriptions.pollMilliseconds) }
        ),
        Setting(
            name: "subscriptions.delivery_timeout_seconds", summary: "deadline of one notification delivery (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.deliveryTimeoutSeconds = try entry.integer("subscriptions.delivery_timeout_seconds", in: 1...300)
            },
            current: { String($0.subscriptions.deliveryTimeoutSeconds) }
        ),
        Setting(
            name: "subscriptions.trust_roots", summary: "PEM file: CAs trusted for subscribers' endpoints (default: the system's)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.trustRoots = try entry.string("subscriptions.trust_roots")
            },
            current: { $0.subscriptions.trustRoots }
        ),
        Setting(
            name: "subscriptions.allowed_endpoint_networks",
            summary: "comma-separated CIDRs of internal networks endpoints may be on (default none: loopback, private and link-local refused)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.subscriptions.allowedEndpointNetworks = try entry.networks("subscriptions.allowed_endpoint_networks")
            },
            current: {
                $0.subscriptions.allowedEndpointNetworks.isEmpty
                    ? nil : $0.subscriptions.allowedEndpointNetworks.map(\.description).joined(separator: ",")
            }
        ),
        Setting(
            name: "export.file_lifetime_hours", summary: "how long a finished $export's files stay for download (default 24)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.export.fileLifetimeHours = try entry.integer("export.file_lifetime_hours", in: 1...720)
            },
            current: { String($0.export.fileLifetimeHours) }
        ),
        Setting(
            name: "export.poll_milliseconds", summary: "how often export jobs are looked for; clients are told to poll as often (default 1000)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.export.pollMilliseconds = try entry.integer("export.poll_milliseconds", in: 50...60_000)
            },
            current: { String($0.export.pollMilliseconds) }
        ),
        Setting(
            name: "export.lease_seconds", summary: "how long a hub holds an export job without progress before another takes it (default 60)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.export.leaseSeconds = try entry.integer("export.lease_seconds", in: 5...3_600)
            },
            current: { String($0.export.leaseSeconds) }
        ),
        Setting(
            name: "open_data.minimum_k", summary: "the smallest class (or cell) an open-data release publishes (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.openData.minimumK = try entry.integer("open_data.minimum_k", in: 2...1_000)
            },
            current: { String($0.openData.minimumK) }
        ),
        Setting(
            name: "open_data.maximum_suppression_percent",
            summary: "patients an open-data release may suppress before generalizing further (default 5)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.openData.maximumSuppressionPercent = try entry.integer("open_data.maximum_suppression_percent", in: 0...50)
            },
            current: { String($0.openData.maximumSuppressionPercent) }
        ),
        Setting(
            name: "open_data.poll_milliseconds", summary: "how often releases to compute are looked for (default 5000)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.openData.pollMilliseconds = try entry.integer("open_data.poll_milliseconds", in: 50...600_000)
            },
            current: { String($0.openData.pollMilliseconds) }
        ),
        Setting(
            name: "open_data.epsilon_budget", summary: "the most ε a dataset's published releases spend together (default 10)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.openData.epsilonBudget = try entry.integer("open_data.epsilon_budget", in: 1...100)
            },
            current: { String($0.openData.epsilonBudget) }
        ),
        Setting(
            name: "open_data.lease_seconds", summary: "how long a hub holds a release computation without renewing (default 300)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.openData.leaseSeconds = try entry.integer("open_data.lease_seconds", in: 10...3_600)
            },
            current: { String($0.openData.leaseSeconds) }
        ),
        Setting(
            name: "log.level", summary: "trace, debug, info, notice, warning, error or critical (default info)",
            isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.log.level = try entry.choice("log.level", as: LogLevel.self)
            },
            current: { $0.log.level.rawValue }
        ),
        Setting(
            name: "log.format", summary: "text or json (default text)", isSecret: false,
            apply: { config, entry throws(ConfigurationError) in
                config.log.format = try entry.choice("log.format", as: LogFormat.self)
            },
            current: { $0.log.format.rawValue }
        ),
    ]

    /// The value each setting has in this configuration, secrets redacted; for `hub config show`.
    public var describedSettings: [(name: String, value: String)] {
        Self.settings.map { setting in
            (setting.name, setting.current(self) ?? "(unset)")
        }
    }
}
