import Foundation
public import HubCrypto
public import HubStorage
public import Logging
import NIOCore
public import PostgresNIO
import Synchronization

/// Envelope encryption of records: one data key per subject (a patient), kept in PostgreSQL
/// wrapped by the key store's key-encryption key, used in memory.
///
/// ```
/// key store (KEK, by handle) ──wraps──► data_keys.wrapped (one per subject and cipher)
///                                            │ unwrapped, cached for `cacheLifetime`
///                                            ▼
///                            record ciphertext = SealedBox(header names the data key)
/// ```
/// Reading never depends on the suite in force: the header of each ciphertext names its data key,
/// whose row and wrapped header name everything else. Erasing a subject's data keys makes every
/// record sealed under them unreadable (crypto-erasure).
public final class DataKeyRing: Sendable {
    let database: Database
    public let keyStore: any KeyStore
    /// What new data is sealed with.
    public let suite: CryptoSuite
    let registry: AlgorithmRegistry
    let logger: Logger
    /// How long an unwrapped key is reused: an erasure elsewhere is unseen here that long.
    public let cacheLifetime: Duration
    let cacheCapacity: Int
    private let cache = Mutex(Cache())

    private struct Cache {
        struct Entry {
            var key: SecretKey
            var loadedAt: ContinuousClock.Instant
        }
        var keys: [String: Entry] = [:]
        /// subject → live data key id for `suite.cipher`.
        var current: [String: String] = [:]
    }

    /// - Parameters:
    ///   - cacheLifetime: How long an unwrapped data key is reused before it is read again;
    ///     bounds how long another hub process may still decrypt after a crypto-erasure.
    ///   - cacheCapacity: Unwrapped keys kept at most (the cache is emptied when full). A key
    ///     takes about a hundred bytes; the default holds the working set of a regional hub (a
    ///     read whose key is not cached costs a database round trip and an unwrap).
    public init(
        database: Database,
        keyStore: any KeyStore,
        suite: CryptoSuite,
        registry: AlgorithmRegistry,
        logger: Logger,
        cacheLifetime: Duration = .seconds(300),
        cacheCapacity: Int = 100_000
    ) {
        self.database = database
        self.keyStore = keyStore
        self.suite = suite
        self.registry = registry
        self.logger = logger
        self.cacheLifetime = cacheLifetime
        self.cacheCapacity = cacheCapacity
    }

    /// Seals `plaintext` for `subject` under the subject's data key (created on first use).
    ///
    /// - Parameter context: Bound to the ciphertext and required again to open it (for a record:
    ///   its type and id), so a ciphertext copied to another record does not open.
    // Not inlined: Swift 6.3.1's optimizer crashes (LLVM coroutine splitting) when it inlines
    // this into SuiteMigration's re-encryption closure.
    @inline(never)
    public func seal(_ plaintext: [UInt8], subject: String, context: [UInt8]) async throws -> [UInt8] {
        let (keyID, key) = try await self.currentDataKey(for: subject)
        return try SealedBox.seal(plaintext, cipher: self.suite.cipher, key: key, keyID: keyID, context: context).serialized
    }

    /// Gets (or creates) and caches the subject's data key, so that a following ``seal`` needs no
    /// database round trip (callers about to hold row locks use it first).
    public func prepareDataKey(for subject: String) async throws {
        _ = try await self.currentDataKey(for: subject)
    }

    /// ``prepareDataKey(for:)`` for many subjects in two round trips, whatever their number: one
    /// read of the live keys, one insert of the missing ones (a transaction Bundle of a hundred
    /// new patients would otherwise cost three hundred).
    public func prepareDataKeys(for subjects: some Collection<String>) async throws {
        let missing = Array(
            Set(
                subjects.filter { subject in
                    guard let id = self.cache.withLock({ $0.current[subject] }) else { return true }
                    return self.cached(id) == nil
                })
        ).sorted()
        guard !missing.isEmpty else { return }
        if missing.count == 1 {
            try await self.prepareDataKey(for: missing[0])
            return
        }
        let algorithm = self.suite.cipher.algorithm.name
        var found = try await self.liveKeyRows(subjects: missing, algorithm: algorithm)
        for (subject, (id, wrapped)) in found {
            self.remember(id, try await self.unwrap(id: id, subject: subject, wrapped: wrapped), currentFor: subject)
        }
        let toCreate = missing.filter { found[$0] == nil }
        guard !toCreate.isEmpty else { return }
        var ids: [String] = []
        var keys: [String: SecretKey] = [:]
        var wrappedKeys: [ByteBuffer] = []
        var kekIDs: [String] = []
        for subject in toCreate {
            let newID = KeyID.random(prefix: "dek")
            let newKey = SecretKey.random(byteCount: self.suite.cipher.keyByteCount)
            let wrapped = try await self.keyStore.wrap(newKey, suite: self.suite, context: Self.wrappingContext(keyID: newID.value, subject: subject))
            ids.append(newID.value)
            keys[newID.value] = newKey
            wrappedKeys.append(ByteBuffer(bytes: wrapped.serialized))
            kekIDs.append(wrapped.header.keyID.value)
        }
        let (newIDs, newSubjects, newWrapped, newKEKs) = (ids, toCreate, wrappedKeys, kekIDs)
        try await self.database.withConnection("create data keys") { connection in
            try await connection.run(
                """
                INSERT INTO data_keys (key_id, subject, algorithm, wrapped, kek_id)
                SELECT k, s, \(algorithm), w, e FROM unnest(\(newIDs)::text[], \(newSubjects)::text[], \(newWrapped)::bytea[], \(newKEKs)::text[]) AS n(k, s, w, e)
                ON CONFLICT (subject, algorithm) WHERE erased_at IS NULL DO NOTHING
                """,
                logger: self.logger
            )
            return ()
        }
        // Another hub may have won a race for some subject: read back which key is live.
        found = try await self.liveKeyRows(subjects: toCreate, algorithm: algorithm)
        for (subject, (id, wrapped)) in found {
            let key = try await keys[id].asyncOr { try await self.unwrap(id: id, subject: subject, wrapped: wrapped) }
            self.remember(id, key, currentFor: subject)
        }
    }

    private func liveKeyRows(subjects: [String], algorithm: String) async throws -> [String: (String, [UInt8])] {
        try await self.database.withConnection("read live data keys") { connection in
            let rows = try await connection.query(
                """
                SELECT subject, key_id, wrapped FROM data_keys
                WHERE subject = ANY(\(subjects)) AND algorithm = \(algorithm) AND erased_at IS NULL
                """,
                logger: self.logger
            )
            var found: [String: (String, [UInt8])] = [:]
            for try await (subject, id, wrapped) in rows.decode((String, String, ByteBuffer).self) {
                found[subject] = (id, Array(buffer: wrapped))
            }
            return found
        }
    }

    /// Opens what ``seal(_:subject:context:)`` produced, under whichever suite it was sealed.
    public func open(_ bytes: [UInt8], context: [UInt8]) async throws -> [UInt8] {
        let box = try SealedBox(parsing: bytes, registry: self.registry)
        let key = try await self.dataKey(box.header.keyID)
        return try box.open(key: key, context: context, registry: self.registry)
    }

    /// The data key a ciphertext names (for re-encryption jobs that need to know the algorithm).
    public func header(of bytes: [UInt8]) throws -> ObjectHeader {
        try SealedBox(parsing: bytes, registry: self.registry).header
    }

    /// Crypto-erases `subject`: its data keys are destroyed (their wrapped copies deleted), so
    /// all its records become unreadable. Returns how many keys were erased.
    @discardableResult
    public func erase(subject: String) async throws -> Int {
        let erased = try await self.database.withTransaction("erase data keys") { connection in
            try await self.eraseKeys(subject: subject, on: connection)
        }
        self.forget(erased, subject: subject)
        return erased.count
    }

    /// The erasure's statement, for a caller that removes more in the same transaction (the
    /// records' search index rows); call ``forget(_:subject:)`` once it committed.
    public func eraseKeys(subject: String, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(
            """
            UPDATE data_keys SET wrapped = NULL, erased_at = now()
            WHERE subject = \(subject) AND erased_at IS NULL
            RETURNING key_id
            """,
            logger: self.logger
        )
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Drops erased keys from the cache.
    public func forget(_ erased: [String], subject: String) {
        self.cache.withLock { cache in
            for id in erased { cache.keys[id] = nil }
            cache.current[subject] = nil
        }
        self.logger.notice("crypto-erased data keys", metadata: ["count": "\(erased.count)"])
    }

    // MARK: Keys

    /// The context a wrapped data key is bound to: its id and subject, so wrapped keys cannot be
    /// swapped between rows.
    static func wrappingContext(keyID: String, subject: String) -> [UInt8] {
        Array("hub:data-key:\(keyID):\(subject)".utf8)
    }

    private func cached(_ keyID: String) -> SecretKey? {
        let now = ContinuousClock.now
        return self.cache.withLock { cache in
            guard let entry = cache.keys[keyID], now - entry.loadedAt < self.cacheLifetime else { return nil }
            return entry.key
        }
    }

    private func remember(_ keyID: String, _ key: SecretKey, currentFor subject: String?) {
        let now = ContinuousClock.now
        self.cache.withLock { cache in
            if cache.keys.count >= self.cacheCapacity {
                cache.keys.removeAll(keepingCapacity: true)
                cache.current.removeAll(keepingCapacity: true)
            }
            cache.keys[keyID] = .init(key: key, loadedAt: now)
            if let subject { cache.current[subject] = keyID }
        }
    }

    private func currentDataKey(for subject: String) async throws -> (KeyID, SecretKey) {
        if let id = self.cache.withLock({ $0.current[subject] }), let key = self.cached(id) {
            return (try KeyID(id), key)
        }
        let algorithm = self.suite.cipher.algorithm.name
        if let (id, wrapped) = try await self.liveKeyRow(subject: subject, algorithm: algorithm) {
            let key = try await self.unwrap(id: id, subject: subject, wrapped: wrapped)
            self.remember(id, key, currentFor: subject)
            return (try KeyID(id), key)
        }
        // None yet: make one. Two hubs may race here; the unique index lets one win and the
        // other reads the winner's key.
        let newID = KeyID.random(prefix: "dek")
        let newKey = SecretKey.random(byteCount: self.suite.cipher.keyByteCount)
        let wrapped = try await self.keyStore.wrap(
            newKey,
            suite: self.suite,
            context: Self.wrappingContext(keyID: newID.value, subject: subject)
        )
        let wrappedBytes = ByteBuffer(bytes: wrapped.serialized)
        let kekID = wrapped.header.keyID.value
        try await self.database.withConnection("create data key") { connection in
            try await connection.run(
                """
                INSERT INTO data_keys (key_id, subject, algorithm, wrapped, kek_id)
                VALUES (\(newID.value), \(subject), \(algorithm), \(wrappedBytes), \(kekID))
                ON CONFLICT (subject, algorithm) WHERE erased_at IS NULL DO NOTHING
                """,
                logger: self.logger
            )
            return ()
        }
        guard let (id, storedWrapped) = try await self.liveKeyRow(subject: subject, algorithm: algorithm) else {
            throw StorageError(.conflict, "data key for the subject vanished while being created")
        }
        let key = id == newID.value ? newKey : try await self.unwrap(id: id, subject: subject, wrapped: storedWrapped)
        self.remember(id, key, currentFor: subject)
        return (try KeyID(id), key)
    }

    private func dataKey(_ keyID: KeyID) async throws -> SecretKey {
        if let key = self.cached(keyID.value) { return key }
        let row = try await self.database.withConnection("read data key") { connection in
            let rows = try await connection.query(
                "SELECT subject, wrapped FROM data_keys WHERE key_id = \(keyID.value)",
                logger: self.logger
            )
            for try await (subject, wrapped) in rows.decode((String, ByteBuffer?).self) {
                return (subject, wrapped.map { Array(buffer: $0) }) as (String, [UInt8]?)?
            }
            return nil
        }
        guard let (subject, wrapped) = row else {
            throw CryptographyError(.unknownKey, "no data key \(keyID)")
        }
        guard let wrapped else {
            throw CryptographyError(.erased, "data key \(keyID) was erased")
        }
        let key = try await self.unwrap(id: keyID.value, subject: subject, wrapped: wrapped)
        self.remember(keyID.value, key, currentFor: nil)
        return key
    }

    private func liveKeyRow(subject: String, algorithm: String) async throws -> (String, [UInt8])? {
        try await self.database.withConnection("read live data key") { connection in
            let rows = try await connection.query(
                """
                SELECT key_id, wrapped FROM data_keys
                WHERE subject = \(subject) AND algorithm = \(algorithm) AND erased_at IS NULL
                """,
                logger: self.logger
            )
            for try await (id, wrapped) in rows.decode((String, ByteBuffer).self) {
                return (id, Array(buffer: wrapped)) as (String, [UInt8])?
            }
            return nil
        }
    }

    func unwrap(id: String, subject: String, wrapped: [UInt8]) async throws -> SecretKey {
        let box = try SealedBox(parsing: wrapped, kind: .wrappedKey, registry: self.registry)
        return try await self.keyStore.unwrap(box, context: Self.wrappingContext(keyID: id, subject: subject))
    }
}

extension Optional {
    fileprivate func asyncOr(_ fallback: () async throws -> Wrapped) async rethrows -> Wrapped {
        if let value = self { return value }
        return try await fallback()
    }
}
