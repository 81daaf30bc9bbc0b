import Foundation
import HubConfig

/// The development key store: keys in files of one folder, readable by the hub's user only.
///
/// ```
/// DIR/                   mode 0700
///   keystore.json        the inventory (ids, purposes, algorithms, dates, states)
///   <id>.key             raw symmetric key (key-encryption, blind-index), mode 0600
///   <id>.pem             PKCS#8 private signing key, mode 0600
/// ```
/// A key file readable by group or others is refused, as ssh refuses such private keys.
/// The inventory is re-read when its file changes, so a `hub keys rotate-kek` run beside a
/// serving hub takes effect there without a restart.
public actor FileKeyStore: KeyStore {
    let directory: String
    let registry: AlgorithmRegistry
    private var manifest: Manifest = Manifest(keys: [])
    private var manifestModified: Date?
    private var lastInventoryCheck = ContinuousClock.now - .seconds(60)
    private var symmetricKeys: [KeyID: SecretKey] = [:]
    private var signingKeys: [KeyID: any SigningKey] = [:]

    struct Manifest: Codable {
        var version = 1
        var keys: [KeyDescription]
    }

    /// - Parameters:
    ///   - directory: The key folder; created (mode 0700) if missing.
    ///   - registry: To read wrapped keys of any algorithm.
    public init(directory: String, registry: AlgorithmRegistry) throws(CryptographyError) {
        self.directory = directory
        self.registry = registry
        do {
            // Created 0700, or refused when it exists and others may enter it.
            try OwnerOnlyFile.ensureFolder(directory)
        } catch {
            throw CryptographyError(.configuration, "key folder: \(error)")
        }
    }

    // MARK: KeyStore

    public func inventory() throws(CryptographyError) -> [KeyDescription] {
        try self.reloadIfChanged()
        return self.manifest.keys
    }

    public func generateMissingKeys(for suite: CryptoSuite) throws(CryptographyError) -> [KeyDescription] {
        try self.reloadIfChanged()
        var created: [KeyDescription] = []
        for purpose in KeyPurpose.allCases where self.current(purpose, algorithm: Self.algorithm(for: purpose, suite)) == nil {
            created.append(try self.create(purpose, suite: suite))
        }
        if !created.isEmpty { try self.saveManifest() }
        return created
    }

    public func wrap(_ dataKey: SecretKey, suite: CryptoSuite, context: [UInt8]) throws(CryptographyError) -> SealedBox {
        try self.reloadIfStale()
        let kekID = try self.currentKEKID(for: suite)
        return try SealedBox.seal(
            dataKey.bytes,
            cipher: suite.cipher,
            key: try self.symmetricKey(kekID),
            keyID: kekID,
            kind: .wrappedKey,
            context: context
        )
    }

    public func unwrap(_ wrapped: SealedBox, context: [UInt8]) throws(CryptographyError) -> SecretKey {
        guard wrapped.header.kind == .wrappedKey else {
            throw CryptographyError(.malformed, "not a wrapped key")
        }
        let kek = try self.symmetricKey(wrapped.header.keyID)
        return SecretKey(bytes: try wrapped.open(key: kek, context: context, registry: self.registry))
    }

    public func sign(_ message: [UInt8], suite: CryptoSuite) throws(CryptographyError) -> SignedObject {
        try self.reloadIfChanged()
        guard let description = self.current(.signing, algorithm: suite.signature.algorithm.name) else {
            throw CryptographyError(.unknownKey, "no current \(suite.signature.algorithm) signing key: run `hub keys generate`")
        }
        return try SignedObject.sign(message, with: try self.signingKey(description), keyID: description.id)
    }

    public func verifyingKeys() throws(CryptographyError) -> [PublishedKey] {
        try self.reloadIfChanged()
        var published: [PublishedKey] = []
        for description in self.manifest.keys where description.purpose == .signing {
            published.append(PublishedKey(description: description, verifyingKey: try self.signingKey(description).verifyingKey))
        }
        return published
    }

    public func blindIndex(
        _ value: String,
        normalization: BlindIndex.Normalization,
        domain: String,
        suite: CryptoSuite
    ) throws(CryptographyError) -> [UInt8] {
        try self.blindIndexes([value], normalization: normalization, domain: domain, suite: suite)[0]
    }

    public func blindIndexes(
        _ values: [String],
        normalization: BlindIndex.Normalization,
        domain: String,
        suite: CryptoSuite
    ) throws(CryptographyError) -> [[UInt8]] {
        try self.reloadIfStale()
        guard let description = self.current(.blindIndex, algorithm: suite.mac.algorithm.name) else {
            throw CryptographyError(.unknownKey, "no current \(suite.mac.algorithm) blind-index key: run `hub keys generate`")
        }
        let key = try self.symmetricKey(description.id)
        var indexes: [[UInt8]] = []
        indexes.reserveCapacity(values.count)
        for value in values {
            indexes.append(
                try BlindIndex.compute(value, normalization: normalization, domain: domain, authenticator: suite.mac, key: key, keyID: description.id)
            )
        }
        return indexes
    }

    public func rotateKeyEncryptionKey(for suite: CryptoSuite) throws(CryptographyError) -> KeyDescription {
        try self.reloadIfChanged()
        let algorithm = suite.cipher.algorithm.name
        for index in self.manifest.keys.indices
        where self.manifest.keys[index].purpose == .keyEncryption && self.manifest.keys[index].algorithm == algorithm
            && self.manifest.keys[index].state == .current
        {
            self.manifest.keys[index].state = .retired
        }
        let created = try self.create(.keyEncryption, suite: suite)
        try self.saveManifest()
        return created
    }

    public func currentKeyEncryptionKeyID(for suite: CryptoSuite) throws(CryptographyError) -> KeyID {
        try self.reloadIfChanged()
        return try self.currentKEKID(for: suite)
    }

    private func currentKEKID(for suite: CryptoSuite) throws(CryptographyError) -> KeyID {
        guard let description = self.current(.keyEncryption, algorithm: suite.cipher.algorithm.name) else {
            throw CryptographyError(.unknownKey, "no current \(suite.cipher.algorithm) key-encryption key: run `hub keys generate`")
        }
        return description.id
    }

    public func destroyRetiredKey(_ id: KeyID) throws(CryptographyError) {
        try self.reloadIfChanged()
        guard let index = self.manifest.keys.firstIndex(where: { $0.id == id }) else {
            throw CryptographyError(.unknownKey, "no key \(id)")
        }
        guard self.manifest.keys[index].state == .retired else {
            throw CryptographyError(.configuration, "key \(id) is current; rotate it before destroying it")
        }
        let description = self.manifest.keys.remove(at: index)
        try self.saveManifest()
        let path = self.materialPath(description)
        // Overwrite before unlinking: a best effort against recovery from the same file system.
        if let handle = FileHandle(forWritingAtPath: path) {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            handle.write(Data(repeating: 0, count: size))
            try? handle.synchronize()
            try? handle.close()
        }
        try? FileManager.default.removeItem(atPath: path)
        self.symmetricKeys[id] = nil
        self.signingKeys[id] = nil
    }

    // MARK: Files

    private var manifestPath: String { self.directory + "/keystore.json" }

    private func materialPath(_ description: KeyDescription) -> String {
        self.directory + "/" + description.id.value + (description.purpose == .signing ? ".pem" : ".key")
    }

    private static func algorithm(for purpose: KeyPurpose, _ suite: CryptoSuite) -> String {
        switch purpose {
        case .keyEncryption: suite.cipher.algorithm.name
        case .signing: suite.signature.algorithm.name
        case .blindIndex: suite.mac.algorithm.name
        }
    }

    private func current(_ purpose: KeyPurpose, algorithm: String) -> KeyDescription? {
        self.manifest.keys.last { $0.purpose == purpose && $0.algorithm == algorithm && $0.state == .current }
    }

    private func create(_ purpose: KeyPurpose, suite: CryptoSuite) throws(CryptographyError) -> KeyDescription {
        let prefix: String
        switch purpose {
        case .keyEncryption: prefix = "kek-\(suite.name)"
        case .signing: prefix = "sig-\(suite.name)"
        case .blindIndex: prefix = "bidx-\(suite.name)"
        }
        let description = KeyDescription(
            id: KeyID.random(prefix: prefix),
            purpose: purpose,
            algorithm: Self.algorithm(for: purpose, suite),
            createdAt: Date(),
            state: .current
        )
        let material: [UInt8]
        switch purpose {
        case .keyEncryption:
            material = SecretKey.random(byteCount: suite.cipher.keyByteCount).bytes
        case .blindIndex:
            material = SecretKey.random(byteCount: 32).bytes
        case .signing:
            material = Array(try suite.signature.generateSigningKey().pemRepresentation().utf8)
        }
        try self.writePrivate(material, to: self.materialPath(description))
        self.manifest.keys.append(description)
        return description
    }

    private func symmetricKey(_ id: KeyID) throws(CryptographyError) -> SecretKey {
        if let key = self.symmetricKeys[id] { return key }
        try self.reloadIfChanged()
        guard let description = self.manifest.keys.first(where: { $0.id == id }), description.purpose != .signing else {
            throw CryptographyError(.unknownKey, "the key store has no key \(id)")
        }
        let key = SecretKey(bytes: try self.readPrivate(self.materialPath(description)))
        self.symmetricKeys[id] = key
        return key
    }

    private func signingKey(_ description: KeyDescription) throws(CryptographyError) -> any SigningKey {
        if let key = self.signingKeys[description.id] { return key }
        guard let algorithm = AlgorithmIdentifier(name: description.algorithm) else {
            throw CryptographyError(.unknownAlgorithm, "signing key \(description.id) has unknown algorithm \(description.algorithm)")
        }
        let pem = String(decoding: try self.readPrivate(self.materialPath(description)), as: UTF8.self)
        let key = try self.registry.signatureScheme(for: algorithm).signingKey(pem: pem)
        self.signingKeys[description.id] = key
        return key
    }

    private func readPrivate(_ path: String) throws(CryptographyError) -> [UInt8] {
        let contents: [UInt8]?
        do {
            contents = try OwnerOnlyFile(path: path).read()
        } catch {
            throw CryptographyError(.configuration, "key file: \(error)")
        }
        guard let contents else { throw CryptographyError(.unknownKey, "key file \(path) is missing") }
        return contents
    }

    /// Never readable by others, not even for a moment (``OwnerOnlyFile``).
    private func writePrivate(_ bytes: [UInt8], to path: String) throws(CryptographyError) {
        do {
            try OwnerOnlyFile(path: path).write(bytes)
        } catch {
            throw CryptographyError(.configuration, "key file: \(error)")
        }
    }

    private func saveManifest() throws(CryptographyError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(self.manifest) else {
            throw CryptographyError(.configuration, "cannot encode the key inventory")
        }
        try self.writePrivate([UInt8](data), to: self.manifestPath)
        self.manifestModified = Self.modificationDate(self.manifestPath)
    }

    /// ``reloadIfChanged()`` at most once a second: the hot paths (blind indexes, wrapping new
    /// data keys) may see another process's rotation up to a second late, which is harmless as
    /// retired keys keep working until destroyed.
    private func reloadIfStale() throws(CryptographyError) {
        let now = ContinuousClock.now
        guard now - self.lastInventoryCheck >= .seconds(1) else { return }
        try self.reloadIfChanged()
    }

    private func reloadIfChanged() throws(CryptographyError) {
        self.lastInventoryCheck = ContinuousClock.now
        let modified = Self.modificationDate(self.manifestPath)
        guard modified != self.manifestModified else { return }
        guard let modified else {
            self.manifest = Manifest(keys: [])
            self.manifestModified = nil
            return
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = FileManager.default.contents(atPath: self.manifestPath),
            let manifest = try? decoder.decode(Manifest.self, from: data)
        else {
            throw CryptographyError(.configuration, "cannot read the key inventory \(self.manifestPath)")
        }
        self.manifest = manifest
        self.manifestModified = modified
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
