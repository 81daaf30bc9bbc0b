import HubTestSupport
import Testing

@testable import HubCrypto

@Suite struct SealedBoxTests {
    static let registry = AlgorithmRegistry.standard()
    static func suites() throws -> [CryptoSuite] { [try CryptoSuite.sm(), CryptoSuite.international()] }

    @Test func roundTripsWithEitherSuiteAndNamesItsAlgorithmAndKey() throws {
        for suite in try Self.suites() {
            let key = SecretKey.random(byteCount: suite.cipher.keyByteCount)
            let keyID = try KeyID("dek-test-1")
            let plaintext = Array("王秀英 110101199003077777".utf8)
            let sealed = try SealedBox.seal(plaintext, cipher: suite.cipher, key: key, keyID: keyID, context: Array("Patient/1".utf8))
            let bytes = sealed.serialized
            let parsed = try SealedBox(parsing: bytes, registry: Self.registry)
            #expect(parsed.header.algorithm == suite.cipher.algorithm)
            #expect(parsed.header.keyID == keyID)
            #expect(try parsed.open(key: key, context: Array("Patient/1".utf8), registry: Self.registry) == plaintext)
        }
    }

    @Test func everyFlippedBitIsRejected() throws {
        for suite in try Self.suites() {
            let key = SecretKey.random(byteCount: suite.cipher.keyByteCount)
            let context = Array("Observation/42".utf8)
            let bytes = try SealedBox.seal(randomBytes(40), cipher: suite.cipher, key: key, keyID: try KeyID("k1"), context: context).serialized
            for bit in 0..<(bytes.count * 8) {
                var tampered = bytes
                tampered[bit / 8] ^= 1 << (bit % 8)
                let result = Result { () throws -> [UInt8] in
                    try SealedBox(parsing: tampered, registry: Self.registry).open(key: key, context: context, registry: Self.registry)
                }
                #expect(throws: CryptographyError.self, "\(suite.name): bit \(bit) flipped was accepted") { try result.get() }
            }
        }
    }

    @Test func wrongKeyWrongContextAndTruncationAreRejected() throws {
        let suite = try CryptoSuite.sm()
        let key = SecretKey.random(byteCount: 16)
        let bytes = try SealedBox.seal(randomBytes(100), cipher: suite.cipher, key: key, keyID: try KeyID("k1"), context: [1]).serialized
        let box = try SealedBox(parsing: bytes, registry: Self.registry)
        let wrongKey = #expect(throws: CryptographyError.self) {
            try box.open(key: SecretKey.random(byteCount: 16), context: [1], registry: Self.registry)
        }
        #expect(wrongKey?.code == .authenticationFailed)
        #expect(throws: CryptographyError.self) { try box.open(key: key, context: [2], registry: Self.registry) }
        #expect(throws: CryptographyError.self) { try box.open(key: SecretKey.random(byteCount: 32), context: [1], registry: Self.registry) }
        for length in 0..<bytes.count {
            #expect(throws: CryptographyError.self) {
                try SealedBox(parsing: Array(bytes.prefix(length)), registry: Self.registry).open(key: key, context: [1], registry: Self.registry)
            }
        }
    }

    @Test func unknownAlgorithmAndVersionAreNamed() throws {
        var bytes = try SealedBox.seal([1, 2, 3], cipher: AES256GCM(), key: SecretKey.random(byteCount: 32), keyID: try KeyID("k"), context: [])
            .serialized
        bytes[2] = 0x7F
        let unknown = #expect(throws: CryptographyError.self) { try SealedBox(parsing: bytes, registry: Self.registry) }
        #expect(unknown?.code == .unknownAlgorithm)
        bytes[0] = 9
        let version = #expect(throws: CryptographyError.self) { try SealedBox(parsing: bytes, registry: Self.registry) }
        #expect(version?.message == "unknown format version 9")
    }
}

@Suite struct SignedObjectTests {
    static func schemes() throws -> [any SignatureScheme] { [SM2Signature(), P256Signature()] }

    @Test func signsAndRejectsEveryFlippedBitAndRelabelling() throws {
        for scheme in try Self.schemes() {
            let key = try scheme.generateSigningKey()
            let message = Array("tree head 1024".utf8)
            let bytes = try SignedObject.sign(message, with: key, keyID: try KeyID("hub-signing-1")).serialized
            let parsed = try SignedObject(parsing: bytes)
            #expect(parsed.isValid(for: message, key: key.verifyingKey))
            #expect(!parsed.isValid(for: message + [0], key: key.verifyingKey))
            for bit in 0..<(bytes.count * 8) {
                var tampered = bytes
                tampered[bit / 8] ^= 1 << (bit % 8)
                let valid = (try? SignedObject(parsing: tampered))?.isValid(for: message, key: key.verifyingKey) ?? false
                #expect(!valid, "\(scheme.algorithm): bit \(bit) flipped was accepted")
            }
            // Another key of the same scheme does not verify it.
            #expect(!parsed.isValid(for: message, key: try scheme.generateSigningKey().verifyingKey))
        }
    }

    @Test func keysRoundTripThroughPEMAndDER() throws {
        for scheme in try Self.schemes() {
            let key = try scheme.generateSigningKey()
            let restored = try scheme.signingKey(pem: try key.pemRepresentation())
            let message = randomBytes(50)
            let signature = try restored.signature(for: message)
            #expect(key.verifyingKey.isValidSignature(signature, for: message))
            let fromPEM = try scheme.verifyingKey(pem: key.verifyingKey.pemRepresentation)
            let fromDER = try scheme.verifyingKey(der: key.verifyingKey.derRepresentation)
            #expect(fromPEM.isValidSignature(signature, for: message))
            #expect(fromDER.derRepresentation == key.verifyingKey.derRepresentation)
            #expect(key.verifyingKey.rawRepresentation.count == 65)
            #expect(key.verifyingKey.pemRepresentation.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        }
    }

    @Test func badPEMAndKeysOfTheOtherSchemeAreRefused() throws {
        let sm2 = try SM2Signature().generateSigningKey()
        let p256 = try P256Signature().generateSigningKey()
        for (scheme, foreign) in [(SM2Signature() as any SignatureScheme, p256), (P256Signature(), sm2)] {
            let wrongType = #expect(throws: CryptographyError.self) { try scheme.signingKey(pem: try foreign.pemRepresentation()) }
            #expect(wrongType?.code == .invalidEncoding)
            #expect(throws: CryptographyError.self) { try scheme.verifyingKey(pem: foreign.verifyingKey.pemRepresentation) }
            #expect(throws: CryptographyError.self) { try scheme.signingKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
            #expect(throws: CryptographyError.self) { try scheme.verifyingKey(der: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        }
        #expect(!sm2.verifyingKey.isValidSignature([], for: [1]))
        #expect(!sm2.verifyingKey.isValidSignature([0x30, 0x00], for: [1]))
    }

    @Test func signatureEncodingsConvert() throws {
        let key = try SM2Signature().generateSigningKey()
        for _ in 0..<20 {
            let der = try key.signature(for: randomBytes(10))
            let raw = try SignatureEncoding.raw(fromDER: der)
            #expect(raw.count == 64)
            #expect(try SignatureEncoding.der(fromRaw: raw) == der)
        }
        #expect(throws: CryptographyError.self) { try SignatureEncoding.raw(fromDER: [0x30, 0x02, 0x02, 0x00]) }
        #expect(throws: CryptographyError.self) { try SignatureEncoding.der(fromRaw: [1, 2, 3]) }
    }
}

@Suite struct BlindIndexTests {
    @Test func equalAfterNormalisationAndKeyedAndSelfDescribing() throws {
        let mac = HMACSM3()
        let key = SecretKey.random(byteCount: 32)
        let id = try KeyID("bidx-1")
        let a = try BlindIndex.compute(
            "11010519491231002x", normalization: .identifier, domain: "Patient.identifier", authenticator: mac, key: key, keyID: id)
        let b = try BlindIndex.compute(
            " １１０１０５-19491231002X ", normalization: .identifier, domain: "Patient.identifier", authenticator: mac, key: key, keyID: id)
        #expect(a == b)
        let other = try BlindIndex.compute(
            "11010519491231002X", normalization: .identifier, domain: "Patient.identifier", authenticator: mac, key: SecretKey.random(byteCount: 32),
            keyID: id)
        #expect(a != other)
        let header = try ObjectHeader.parse(a, expecting: .blindIndex)
        #expect(header.header.algorithm == .hmacSM3)
        #expect(header.header.keyID == id)
        #expect(a.count == header.bodyOffset + 32)
        #expect(BlindIndex.normalize("  Wang   Xiuying ", .name) == "wang xiuying")
        #expect(BlindIndex.normalize("王　秀英", .name) == "王 秀英")
    }

    @Test func keyIDsAreValidated() {
        #expect(throws: CryptographyError.self) { try KeyID("") }
        #expect(throws: CryptographyError.self) { try KeyID("has space") }
        #expect(throws: CryptographyError.self) { try KeyID(String(repeating: "a", count: 65)) }
        #expect(KeyID.random(prefix: "dek").value.hasPrefix("dek-"))
        #expect(KeyID.random(prefix: "dek") != KeyID.random(prefix: "dek"))
    }
}
