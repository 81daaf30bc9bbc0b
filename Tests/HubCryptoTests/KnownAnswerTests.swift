import Crypto
import HubTestSupport
import Testing

@testable import HubCrypto

/// Vectors from the published standards (see ../shared/reference/crypto-vectors.md for sources).
@Suite struct KnownAnswerTests {
    // GB/T 32905-2016, examples 1 and 2.
    @Test func sm3() throws {
        let sm3 = try SM3()
        #expect(try sm3.digest(Array("abc".utf8)).hex == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(
            try sm3.digest(Array(String(repeating: "abcd", count: 16).utf8)).hex
                == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        )
    }

    // GB/T 32907-2016, examples 1 and 2 (the second encrypts 1,000,000 times).
    @Test func sm4Block() throws {
        let key = SecretKey(bytes: [UInt8](hex: "0123456789abcdeffedcba9876543210"))
        let block = try SM4Block()
        #expect(try block.encrypt(key.bytes, key: key).hex == "681edf34d206965e86b3e94f536e4246")
        #expect(try block.encrypt(key.bytes, key: key, rounds: 1_000_000).hex == "595298c7c6fd271f0402f804c33d3f66")
    }

    // RFC 8998, appendix A.1.
    static let rfc8998 = (
        key: [UInt8](hex: "0123456789ABCDEFFEDCBA9876543210"),
        nonce: [UInt8](hex: "00001234567800000000ABCD"),
        plaintext: [UInt8](
            hex: "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ),
        aad: [UInt8](hex: "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"),
        ciphertext:
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d",
        tag: "83de3541e4c2b58177e065a9bf7b62ec"
    )

    @Test func sm4GCMAssembled() throws {
        let cipher = try SM4GCM(preferNative: false)
        #expect(!cipher.isNative)
        let vector = Self.rfc8998
        let key = SecretKey(bytes: vector.key)
        let sealed = try cipher.seal(vector.plaintext, key: key, nonce: vector.nonce, additionalData: vector.aad)
        #expect(sealed.ciphertext.hex == vector.ciphertext)
        #expect(sealed.tag.hex == vector.tag)
        let opened = try cipher.open(
            sealed.ciphertext,
            tag: sealed.tag,
            key: key,
            nonce: vector.nonce,
            additionalData: vector.aad
        )
        #expect(opened == vector.plaintext)
    }

    @Test func sm4GCMInForceMatchesTheVectorToo() throws {
        // Native where this OpenSSL has SM4-GCM (3.3+), assembled otherwise: same bytes either way.
        let cipher = try SM4GCM()
        let vector = Self.rfc8998
        let sealed = try cipher.seal(vector.plaintext, key: SecretKey(bytes: vector.key), nonce: vector.nonce, additionalData: vector.aad)
        #expect(sealed.ciphertext.hex + sealed.tag.hex == vector.ciphertext + vector.tag)
    }

    // The AES-256 vector of the GCM specification (McGrew & Viega, test case 16).
    static let gcm16 = (
        key: [UInt8](hex: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
        nonce: [UInt8](hex: "cafebabefacedbaddecaf888"),
        plaintext: [UInt8](
            hex: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        ),
        aad: [UInt8](hex: "feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b"
    )

    @Test(arguments: [true, false]) func aes256GCM(openSSL: Bool) throws {
        let vector = Self.gcm16
        let cipher = AES256GCM(preferOpenSSL: openSSL)
        #expect(cipher.usesOpenSSL == openSSL)
        let sealed = try cipher.seal(vector.plaintext, key: SecretKey(bytes: vector.key), nonce: vector.nonce, additionalData: vector.aad)
        #expect(sealed.ciphertext.hex == vector.ciphertext)
        #expect(sealed.tag.hex == vector.tag)
    }

    /// OpenSSL's AES-256-GCM (pooled contexts, reused after failures) and swift-crypto's open
    /// each other's output, for many keys, lengths and headers.
    @Test func aes256GCMImplementationsAgree() throws {
        let fast = AES256GCM()
        let reference = AES256GCM(preferOpenSSL: false)
        for length in [0, 1, 15, 16, 17, 1_024, 4_099] {
            let key = SecretKey.random(byteCount: 32)
            let nonce = SecretKey.random(byteCount: 12).bytes
            let plaintext = SecretKey.random(byteCount: max(length, 1)).bytes.prefix(length).map { $0 }
            let header = Array("Patient/\(length)".utf8)
            let sealed = try fast.seal(plaintext, key: key, nonce: nonce, additionalData: header)
            let again = try reference.seal(plaintext, key: key, nonce: nonce, additionalData: header)
            #expect(sealed.ciphertext == again.ciphertext && sealed.tag == again.tag)
            #expect(try reference.open(sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, additionalData: header) == plaintext)
            // The same key again (its schedule kept by the pooled context), under another nonce.
            let otherNonce = nonce.reversed().map { $0 ^ 0x5A }
            let resealed = try fast.seal(plaintext, key: key, nonce: otherNonce, additionalData: header)
            let expected = try reference.seal(plaintext, key: key, nonce: otherNonce, additionalData: header)
            #expect(resealed.ciphertext == expected.ciphertext && resealed.tag == expected.tag)
            // A failed open leaves the pooled context fit for the next message.
            #expect(throws: CryptographyError.self) { () throws -> Void in
                _ = try fast.open(sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, additionalData: header + [0])
            }
            #expect(try fast.open(again.ciphertext, tag: again.tag, key: key, nonce: nonce, additionalData: header) == plaintext)
        }
    }

    /// The EVP AEAD path that native SM4-GCM uses, proven here with OpenSSL's AES-256-GCM.
    @Test func evpAEADPathWithOpenSSLsAES() throws {
        let cipher = try #require(EVPAuthenticatedCipher(name: "AES-256-GCM", algorithm: .aes256GCM, keyByteCount: 32))
        let vector = Self.gcm16
        let key = SecretKey(bytes: vector.key)
        let sealed = try cipher.seal(vector.plaintext, key: key, nonce: vector.nonce, additionalData: vector.aad)
        #expect(sealed.ciphertext.hex == vector.ciphertext)
        #expect(sealed.tag.hex == vector.tag)
        #expect(try cipher.open(sealed.ciphertext, tag: sealed.tag, key: key, nonce: vector.nonce, additionalData: vector.aad) == vector.plaintext)
        var badTag = sealed.tag
        badTag[0] ^= 1
        #expect(throws: CryptographyError.self) { () throws -> Void in
            _ = try cipher.open(sealed.ciphertext, tag: badTag, key: key, nonce: vector.nonce, additionalData: vector.aad)
        }
    }

    // GM/T 0003.5-2012 appendix A: signature of "message digest" on the recommended curve with
    // the default ID. Verifying it proves the distinguishing ID is set (OpenSSL 3.0's empty
    // default would reject it).
    static let sm2PublicKey = [UInt8](
        hex: "04"
            + "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
            + "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
    )
    static let sm2Signature = [UInt8](
        hex: "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
            + "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
    )

    @Test func sm2PublishedSignatureVerifies() throws {
        let key = try SM2Signature().verifyingKey(rawPoint: Self.sm2PublicKey)
        let signature = try SignatureEncoding.der(fromRaw: Self.sm2Signature)
        let message = Array("message digest".utf8)
        #expect(key.isValidSignature(signature, for: message))
        #expect(!key.isValidSignature(signature, for: Array("message digesT".utf8)))
        // The same signature under another ID must fail: the ID really is part of what is signed.
        let otherID = try SM2Signature(distinguishingID: Array("ALICE123@YAHOO.COM".utf8)).verifyingKey(rawPoint: Self.sm2PublicKey)
        #expect(!otherID.isValidSignature(signature, for: message))
        #expect(key.rawRepresentation == Self.sm2PublicKey)
    }

    // RFC 6979 A.2.5: ECDSA P-256 with SHA-256 over "sample".
    @Test func p256PublishedSignatureVerifies() throws {
        let publicKey = try P256.Signing.PublicKey(
            x963Representation: [UInt8](
                hex: "04" + "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                    + "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
            )
        )
        let key = try P256Signature().verifyingKey(der: Array(publicKey.derRepresentation))
        let signature = try SignatureEncoding.der(
            fromRaw: [UInt8](
                hex: "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
                    + "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
            )
        )
        #expect(key.isValidSignature(signature, for: Array("sample".utf8)))
        #expect(!key.isValidSignature(signature, for: Array("simple".utf8)))
    }

    // RFC 4231 test case 2 for HMAC-SHA-256; HMAC-SM3 is checked against Python in InteropTests.
    @Test func hmacSHA256() throws {
        let code = try HMACSHA256().authenticationCode(
            for: Array("what do ya want for nothing?".utf8),
            key: SecretKey(bytes: Array("Jefe".utf8))
        )
        #expect(code.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    // RFC 5869 test case 1 (HKDF-SHA256), through the generic HKDF over any MAC.
    @Test func hkdfSHA256() throws {
        let okm = try HMACSHA256().deriveKey(
            from: SecretKey(bytes: [UInt8](repeating: 0x0b, count: 22)),
            salt: [UInt8](hex: "000102030405060708090a0b0c"),
            info: [UInt8](hex: "f0f1f2f3f4f5f6f7f8f9"),
            byteCount: 42
        )
        #expect(okm.bytes.hex == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }
}
