import Foundation

extension HubConfiguration {
    /// The variable naming the configuration file when `--config` is not given.
    public static let fileEnvironmentVariable = "HUB_CONFIG"

    /// Builds the configuration from defaults, then `file`, then the environment, and validates it.
    ///
    /// - Parameters:
    ///   - file: Path of the configuration file, or nil for defaults and environment only.
    ///   - environment: The process environment (passed in so tests need not change the process's).
    ///   - workingDirectory: Against which relative paths in the file are checked.
    public static func load(
        file: String?,
        environment: [String: String],
        checkFiles: Bool = true
    ) throws(ConfigurationError) -> HubConfiguration {
        var entries: [String: ConfigEntry] = [:]
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(setting: "config file", message: "cannot read \(file)")
            }
            entries = try ConfigFile(parsing: text, name: file).entries
        }
        try entries.merge(Self.environmentEntries(environment)) { _, environment in environment }
        var configuration = HubConfiguration()
        try configuration.apply(entries)
        try configuration.validate(checkFiles: checkFiles)
        return configuration
    }

    /// Applies raw entries through the settings table; an unknown name is an error.
    public mutating func apply(_ entries: [String: ConfigEntry]) throws(ConfigurationError) {
        let byName = Dictionary(uniqueKeysWithValues: Self.settings.map { ($0.name, $0) })
        // Sorted so that with several errors the same one is reported every time.
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            guard let setting = byName[name] else {
                throw ConfigurationError(setting: name, message: "unknown setting", origin: entry.origin)
            }
            try setting.apply(&self, entry)
        }
    }

    /// `HUB_SECTION_KEY` variables as entries. A variable whose prefix names a known section
    /// but no known key is an error (a typo would otherwise be ignored silently); other `HUB_`
    /// variables (`HUB_CONFIG`, test and script variables) are not configuration and are skipped.
    static func environmentEntries(_ environment: [String: String]) throws(ConfigurationError) -> [String: ConfigEntry] {
        let byVariable = Dictionary(uniqueKeysWithValues: Self.settings.map { ($0.environmentName, $0) })
        let sectionPrefixes = Set(Self.settings.map { "HUB_" + $0.name.prefix { $0 != "." }.uppercased() + "_" })
        var entries: [String: ConfigEntry] = [:]
        for (variable, value) in environment where variable.hasPrefix("HUB_") {
            if let setting = byVariable[variable] {
                entries[setting.name] = ConfigEntry(value: .environment(value), origin: variable)
            } else if sectionPrefixes.contains(where: { variable.hasPrefix($0) }) {
                throw ConfigurationError(setting: variable, message: "unknown setting", origin: "environment")
            }
        }
        return entries
    }

    /// Checks what single settings cannot: required settings, settings that depend on each
    /// other, and that the files named exist and can be read.
    public func validate(checkFiles: Bool = true) throws(ConfigurationError) {
        guard let certificateChain = self.tls.certificateChain else {
            throw ConfigurationError(setting: "tls.certificate_chain", message: "required: the hub serves HTTPS only")
        }
        guard let privateKey = self.tls.privateKey else {
            throw ConfigurationError(setting: "tls.private_key", message: "required: the hub serves HTTPS only")
        }
        if self.tls.clientAuthentication != .off, self.tls.clientCA == nil {
            throw ConfigurationError(
                setting: "tls.client_ca",
                message: "required when tls.client_auth is \(self.tls.clientAuthentication.rawValue)"
            )
        }
        if self.server.publicURL == nil, let address = IPAddress(self.server.host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))),
            address.bytes.allSatisfy({ $0 == 0 })
        {
            throw ConfigurationError(
                setting: "server.public_url",
                message:
                    "required when server.host listens on every address (\(self.server.host)): it is the address clients name as the token audience and in references"
            )
        }
        guard let database = self.database.url else {
            throw ConfigurationError(setting: "database.url", message: "required")
        }
        if !database.isLocal, database.sslMode != .verifyFull, !self.database.allowUnverifiedTLS {
            throw ConfigurationError(
                setting: "database.url",
                message:
                    "the database is reached over the network with sslmode=\(database.sslMode.rawValue), which does not verify the server: use sslmode=verify-full&sslrootcert=<CA file> (or set database.allow_unverified_tls = true)"
            )
        }
        guard checkFiles else { return }
        var files = [("tls.certificate_chain", certificateChain), ("tls.private_key", privateKey)]
        if let clientCA = self.tls.clientCA, self.tls.clientAuthentication != .off {
            files.append(("tls.client_ca", clientCA))
        }
        if let roots = self.subscriptions.trustRoots { files.append(("subscriptions.trust_roots", roots)) }
        if let roots = self.audit.syslogTrustRoots { files.append(("audit.syslog_trust_roots", roots)) }
        for (setting, path) in files where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigurationError(setting: setting, message: "cannot read file \(path)")
        }
        let profile = self.crypto.profilesDirectory + "/" + self.crypto.profile + ".toml"
        guard FileManager.default.isReadableFile(atPath: profile) else {
            throw ConfigurationError(setting: "crypto.profile", message: "no profile file \(profile)")
        }
        for name in ["identifier-systems.toml", "r4-structure.json"] {
            let file = self.fhir.profilesDirectory + "/" + name
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ConfigurationError(setting: "fhir.profiles_directory", message: "no profile file \(file)")
            }
        }
        var isDirectory: ObjCBool = false
        let migrations = self.database.migrationsDirectory
        guard FileManager.default.fileExists(atPath: migrations, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigurationError(setting: "database.migrations_directory", message: "no such folder \(migrations)")
        }
    }
}
