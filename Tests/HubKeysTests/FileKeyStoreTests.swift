import Foundation
import HubCrypto
import Testing

@Suite struct FileKeyStoreTests {
    static func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("keystore-\(UUID().uuidString)").path
    }

    @Test func generatesWhatASuiteNeedsOnceWithPrivateFiles() async throws {
        let directory = Self.folder()
        let store = try FileKeyStore(directory: directory, registry: .standard())
        let suite = try CryptoSuite.sm()
        let created = try await store.generateMissingKeys(for: suite)
        #expect(Set(created.map(\.purpose)) == Set(KeyPurpose.allCases))
        #expect(try await store.generateMissingKeys(for: suite).isEmpty)
        for description in try await store.inventory() {
            let path = directory + "/" + description.id.value + (description.purpose == .signing ? ".pem" : ".key")
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let folderMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        // The inventory says what keys exist, never what they are.
        let inventory = String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory + "/keystore.json")), as: UTF8.self)
        #expect(inventory.contains("SM4-GCM"))
        #expect(!inventory.contains("PRIVATE KEY"))
    }

    @Test func refusesKeyFilesOthersCanRead() async throws {
        let directory = Self.folder()
        let store = try FileKeyStore(directory: directory, registry: .standard())
        let suite = CryptoSuite.international()
        _ = try await store.generateMissingKeys(for: suite)
        let kek = try await store.currentKeyEncryptionKeyID(for: suite)
        chmod(directory + "/" + kek.value + ".key", 0o644)
        // A new store (nothing cached) must refuse the key.
        let reopened = try FileKeyStore(directory: directory, registry: .standard())
        let error = await #expect(throws: CryptographyError.self) {
            _ = try await reopened.wrap(SecretKey.random(byteCount: 32), suite: suite, context: [])
        }
        #expect(error?.message.contains("read by others") == true, "\(String(describing: error))")
    }

    /// Issue #14: an existing key folder others may enter is refused (not only a new one is
    /// made private); writing leaves no temporary file behind, and a file is never widened.
    @Test func refusesAKeyFolderOthersCanEnterAndWritesWithoutLeftovers() async throws {
        let open = Self.folder()
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod(open, 0o755)
        let error = #expect(throws: CryptographyError.self) { _ = try FileKeyStore(directory: open, registry: .standard()) }
        #expect(error?.message.contains("chmod 700") == true, "\(String(describing: error))")
        chmod(open, 0o700)
        let store = try FileKeyStore(directory: open, registry: .standard())
        _ = try await store.generateMissingKeys(for: CryptoSuite.international())
        _ = try await store.rotateKeyEncryptionKey(for: CryptoSuite.international())
        let names = try FileManager.default.contentsOfDirectory(atPath: open)
        #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
        for name in names {
            let mode = try FileManager.default.attributesOfItem(atPath: open + "/" + name)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
        // A file that is not a folder is not a key folder.
        let file = Self.folder()
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: CryptographyError.self) { _ = try FileKeyStore(directory: file, registry: .standard()) }
    }

    @Test func signsAndPublishesAndSeesAnotherProcessesRotation() async throws {
        let directory = Self.folder()
        let store = try FileKeyStore(directory: directory, registry: .standard())
        let suite = try CryptoSuite.sm()
        _ = try await store.generateMissingKeys(for: suite)
        let signed = try await store.sign(Array("head".utf8), suite: suite)
        let published = try await store.verifyingKeys()
        #expect(published.count == 1)
        #expect(signed.isValid(for: Array("head".utf8), key: published[0].verifyingKey))

        let before = try await store.currentKeyEncryptionKeyID(for: suite)
        // Another process (hub keys rotate-kek) rotates through its own store instance.
        let other = try FileKeyStore(directory: directory, registry: .standard())
        try await Task.sleep(for: .milliseconds(20))  // a distinct modification time
        let rotated = try await other.rotateKeyEncryptionKey(for: suite)
        #expect(try await store.currentKeyEncryptionKeyID(for: suite) == rotated.id)
        #expect(rotated.id != before)
        let states = try await store.inventory().filter { $0.purpose == .keyEncryption }.map(\.state)
        #expect(states == [.retired, .current])
        await #expect(throws: CryptographyError.self) { try await store.destroyRetiredKey(rotated.id) }
        try await store.destroyRetiredKey(before)
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + before.value + ".key"))
    }

    @Test func blindIndexesUseTheirOwnKeyAndMatchAfterNormalisation() async throws {
        let store = try FileKeyStore(directory: Self.folder(), registry: .standard())
        let suite = try CryptoSuite.sm()
        _ = try await store.generateMissingKeys(for: suite)
        let a = try await store.blindIndex("11010519491231002X", normalization: .identifier, domain: "Patient.identifier", suite: suite)
        let b = try await store.blindIndex("110105-1949 1231 002x", normalization: .identifier, domain: "Patient.identifier", suite: suite)
        let other = try await store.blindIndex("110105194912310029", normalization: .identifier, domain: "Patient.identifier", suite: suite)
        #expect(a == b)
        #expect(a != other)
        let header = try ObjectHeader.parse(a, expecting: .blindIndex).header
        let bidx = try await store.inventory().first { $0.purpose == .blindIndex }
        #expect(header.keyID == bidx?.id)
        #expect(header.algorithm == .hmacSM3)
        // Another store (another deployment) with its own key gives unrelated indexes.
        let elsewhere = try FileKeyStore(directory: Self.folder(), registry: .standard())
        _ = try await elsewhere.generateMissingKeys(for: suite)
        #expect(try await elsewhere.blindIndex("11010519491231002X", normalization: .identifier, domain: "Patient.identifier", suite: suite) != a)
    }
}
