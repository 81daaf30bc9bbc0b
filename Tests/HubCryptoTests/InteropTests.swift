import HubTestSupport
import Testing

@testable import HubCrypto

/// The hub against an independent implementation (PyPI `cryptography` and `gmssl`, see
/// Tests/Peers/sm_peer.py): what one side produces, the other must accept, byte for byte.
@Suite struct InteropTests {
    static func peer(_ arguments: String...) async throws -> (status: Int32, words: [String]) {
        let output = try await TestPeer.run("sm_peer.py", arguments)
        #expect(output.standardError.isEmpty, "\(output.standardError)")
        return (output.status, output.standardOutput.split(whereSeparator: \.isWhitespace).map(String.init))
    }

    static let lengths = [0, 1, 15, 16, 17, 55, 56, 64, 1000, 4099]

    @Test func sm3MatchesForManyLengths() async throws {
        let sm3 = try SM3()
        for length in Self.lengths {
            let message = randomBytes(length)
            #expect(try await Self.peer("sm3", message.hex).words == [try sm3.digest(message).hex], "length \(length)")
        }
    }

    /// A blind index is HMAC(key, header ‖ uint16 length of the domain ‖ domain ‖ value), as
    /// docs/crypto.md says: the peer's HMAC-SM3 over bytes laid out here, from the document,
    /// equals the hub's; each search parameter's domain gives unrelated bytes for one value.
    @Test func blindIndexesAreDomainSeparatedAsDocumented() async throws {
        let key = SecretKey.random(byteCount: 32)
        let id = try KeyID("bidx-sm-1")
        var seen: Set<[UInt8]> = []
        for domain in ["Patient.family", "Patient.given", "Practitioner.family", ""] {
            let ours = try BlindIndex.compute("王", normalization: .exact, domain: domain, authenticator: HMACSM3(), key: key, keyID: id)
            let header = ObjectHeader(kind: .blindIndex, algorithm: .hmacSM3, keyID: id).serialized
            #expect(Array(ours.prefix(header.count)) == header)
            let domainBytes = Array(domain.utf8)
            let message = header + [UInt8(domainBytes.count >> 8), UInt8(domainBytes.count & 0xFF)] + domainBytes + Array("王".utf8)
            #expect(try await Self.peer("hmac-sm3", key.bytes.hex, message.hex).words == [Array(ours.dropFirst(header.count)).hex], "\(domain)")
            seen.insert(ours)
        }
        #expect(seen.count == 4)
    }

    @Test func hmacSM3Matches() async throws {
        for (keyLength, messageLength) in [(16, 0), (32, 100), (64, 64), (100, 3000)] {
            let key = SecretKey.random(byteCount: keyLength)
            let message = randomBytes(messageLength)
            let ours = try HMACSM3().authenticationCode(for: message, key: key)
            #expect(try await Self.peer("hmac-sm3", key.bytes.hex, message.hex).words == [ours.hex])
        }
    }

    @Test(arguments: [false, true])
    func sm4GCMBothWays(preferNative: Bool) async throws {
        let cipher = try SM4GCM(preferNative: preferNative)
        for length in Self.lengths {
            let key = SecretKey.random(byteCount: 16)
            let nonce = randomBytes(12)
            let aad = randomBytes(length % 40)
            let plaintext = randomBytes(length)

            // Hub seals, peer opens.
            let sealed = try cipher.seal(plaintext, key: key, nonce: nonce, additionalData: aad)
            let opened = try await Self.peer("sm4gcm-open", key.bytes.hex, nonce.hex, aad.hex, sealed.ciphertext.hex, sealed.tag.hex)
            #expect(opened.status == 0)
            #expect((opened.words.first ?? "") == plaintext.hex, "length \(length)")

            // Peer seals, hub opens.
            let theirs = try await Self.peer("sm4gcm-seal", key.bytes.hex, nonce.hex, aad.hex, plaintext.hex).words
            let ciphertext = length == 0 ? [] : [UInt8](hex: theirs[0])
            let tag = [UInt8](hex: theirs[theirs.count - 1])
            #expect(try cipher.open(ciphertext, tag: tag, key: key, nonce: nonce, additionalData: aad) == plaintext)

            // And a flipped tag bit is refused by the peer too.
            var badTag = sealed.tag
            badTag[15] ^= 0x80
            #expect(try await Self.peer("sm4gcm-open", key.bytes.hex, nonce.hex, aad.hex, sealed.ciphertext.hex, badTag.hex).status == 1)
        }
    }

    @Test func sm2SignaturesVerifyBothWays() async throws {
        let scheme = SM2Signature()
        for length in [0, 14, 1000] {
            let message = randomBytes(length)

            // Hub signs, peer verifies (raw r‖s, 64-byte X‖Y).
            let key = try scheme.generateSigningKey()
            let signature = try key.signature(for: message)
            let raw = try SignatureEncoding.raw(fromDER: signature)
            let point = key.verifyingKey.rawRepresentation
            #expect(try await Self.peer("sm2-verify", point.hex, message.hex, raw.hex).words == ["valid"])
            var tampered = message
            tampered.append(1)
            #expect(try await Self.peer("sm2-verify", point.hex, tampered.hex, raw.hex).words == ["invalid"])

            // Peer signs, hub verifies.
            let theirs = try await Self.peer("sm2-sign", message.hex).words
            let peerKey = try scheme.verifyingKey(rawPoint: [UInt8](hex: theirs[0]))
            let peerSignature = try SignatureEncoding.der(fromRaw: [UInt8](hex: theirs[1]))
            #expect(peerKey.isValidSignature(peerSignature, for: message))
            #expect(!peerKey.isValidSignature(peerSignature, for: message + [0]))
        }
    }
}
