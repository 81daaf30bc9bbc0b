import Foundation
import HubTestSupport
import Testing

@testable import HubAudit
@testable import HubCrypto

/// Key-dependent code checked over many keys, not one: a peer library once mangled about one SM2
/// key in 256 (those whose X starts with the byte 0x04, see `Tests/Peers/sm2_peer.py`), and a
/// test over one fresh key a run failed at random. For each suite, 200 fresh signing keys — among
/// them keys whose X or Y starts with a zero byte, a zero nibble or 0x04, and signatures whose r
/// or s does — go both ways through the independent implementation (`signature_sweep.py`):
/// the peer verifies the published key, a checkpoint, a segment, a report and a bare signature
/// made with each key, and refuses each altered; the peer derives each key's point from the
/// private key and signs, and the hub agrees on the point and verifies.
@Suite struct PeerSignatureSweepTests {
    static let keyCount = 200

    @Test(arguments: ["sm", "intl"])
    func everyKeyVerifiesBothWays(suiteName: String) async throws {
        let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
        let scheme = suite.signature
        let keys = try KeySample.draw(Self.keyCount, scheme: scheme)
        let message = Array("签名 \(suiteName) sweep".utf8)
        let signatures = try SignatureSample.draw(for: keys, message: message)
        let fixture = try AuditFixture(suite: suite)

        var cases: [[String: Any]] = []
        for (number, key) in keys.enumerated() {
            let keyID = try KeyID("sig-\(suiteName)-sweep-\(number)")
            let published = PublishedKeysDocument(
                suite: suite.name,
                keys: [
                    PublishedKey(
                        description: KeyDescription(
                            id: keyID, purpose: .signing, algorithm: scheme.algorithm.name, createdAt: fixture.time, state: .current),
                        verifyingKey: key.verifyingKey
                    )
                ])
            let report = try fixture.report(signedWith: key, keyID: keyID)

            // The hub's own verifiers, reading the key back from the published document.
            let document = try JSONDecoder().decode(PublishedKeysDocument.self, from: try JSONEncoder().encode(published))
            let verifiers = try document.verifyingKeys(registry: .standard())
            _ = try AuditLogVerifier(keys: verifiers).verify(report.segment)
            try AuditReportVerifier(keys: verifiers).verify(report)
            #expect(document.keys[0].publicKeyPoint == key.verifyingKey.rawRepresentation.hex)
            #expect(document.keys[0].publicKeyPoint.count == 130)

            cases.append([
                "keys": try JSONSerialization.jsonObject(with: try JSONEncoder().encode(published)),
                "segment": try JSONSerialization.jsonObject(with: try JSONEncoder().encode(report.segment)),
                "report": try JSONSerialization.jsonObject(with: try JSONEncoder().encode(report)),
                "message": message.hex,
                "signature": signatures[number].hex,
                "privateKeyPem": try key.pemRepresentation(),
            ])
        }

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/cases.json"
        try JSONSerialization.data(withJSONObject: ["suite": suite.name, "cases": cases]).write(to: URL(fileURLWithPath: path))
        let output = try await TestPeer.run("signature_sweep.py", [path])
        #expect(output.status == 0, "\(output.standardError)")
        let results = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [[String: Any]])
        try #require(results.count == keys.count)

        for (number, (key, result)) in zip(keys, results).enumerated() {
            let point = key.verifyingKey.rawRepresentation
            let context =
                "key \(number) (point \(Array(point[0..<3]).hex)…\(Array(point[33..<35]).hex)…, signature \(Array(signatures[number].prefix(8)).hex)…): \(result["errors"] ?? "")"
            for check in ["keys", "checkpoint", "segment", "report", "signature"] {
                #expect(result[check] as? Bool == true, "\(check) not verified by the peer, \(context)")
            }
            for check in ["alteredSegment", "alteredReport", "alteredSignature"] {
                #expect(result[check] as? Bool == true, "\(check) not refused by the peer, \(context)")
            }
            // Peer → hub: the same point from the private key, and its signature verifies.
            let peerPoint = [UInt8](hex: result["peerPoint"] as? String ?? "")
            #expect(peerPoint == point, "the peer derives another point, \(context)")
            let peerKey = try scheme.verifyingKey(rawPoint: peerPoint)
            let peerSignature = [UInt8](hex: result["peerSignature"] as? String ?? "")
            #expect(peerKey.isValidSignature(peerSignature, for: message), "peer signature refused, \(context)")
            #expect(!peerKey.isValidSignature(peerSignature, for: message + [0]))
            #expect(try SignatureEncoding.der(fromRaw: try SignatureEncoding.raw(fromDER: peerSignature)) == peerSignature)
        }
    }
}

/// Signing keys drawn until every awkward shape of point occurs, then filled up with ordinary
/// ones: the shapes that break hex and integer conversions.
struct KeySample {
    static let shapes: [(name: String, test: @Sendable ([UInt8]) -> Bool)] = [
        ("X starts with 0x04", { $0[1] == 0x04 }),
        ("X starts with a zero byte", { $0[1] == 0 }),
        ("Y starts with a zero byte", { $0[33] == 0 }),
        ("X starts with a zero nibble", { $0[1] < 0x10 }),
        ("Y starts with a zero nibble", { $0[33] < 0x10 }),
    ]

    /// `count` keys holding every shape; fails after 100,000 draws (each shape has odds of at
    /// least 1 in 256 a draw, so that never happens by chance).
    static func draw(_ count: Int, scheme: any SignatureScheme) throws -> [any SigningKey] {
        var chosen: [any SigningKey] = []
        var missing = Set(Self.shapes.indices)
        var draws = 0
        while !missing.isEmpty || chosen.count < count {
            draws += 1
            try #require(draws <= 100_000, "no key of shape \(missing.map { Self.shapes[$0].name }) in 100,000 draws")
            let key = try scheme.generateSigningKey()
            let point = key.verifyingKey.rawRepresentation
            try #require(point.count == 65 && point[0] == 0x04)
            let shapes = missing.filter { Self.shapes[$0].test(point) }
            if !shapes.isEmpty {
                missing.subtract(shapes)
                chosen.insert(key, at: 0)
            } else if chosen.count < count - missing.count {
                chosen.append(key)
            }
        }
        return chosen
    }
}

/// One signature of `message` per key, re-signed (fresh randomness) until r and s have each
/// started with a zero byte and a zero nibble somewhere in the sample.
enum SignatureSample {
    static let shapes: [(name: String, test: @Sendable ([UInt8]) -> Bool)] = [
        ("r starts with a zero byte", { $0[0] == 0 }),
        ("s starts with a zero byte", { $0[32] == 0 }),
        ("r starts with a zero nibble", { $0[0] < 0x10 }),
        ("s starts with a zero nibble", { $0[32] < 0x10 }),
    ]

    static func draw(for keys: [any SigningKey], message: [UInt8]) throws -> [[UInt8]] {
        var signatures = try keys.map { try $0.signature(for: message) }
        var missing = Set(Self.shapes.indices)
        var plain: [Int] = []
        for (index, signature) in signatures.enumerated() {
            let raw = try SignatureEncoding.raw(fromDER: signature)
            let shapes = missing.filter { Self.shapes[$0].test(raw) }
            if shapes.isEmpty { plain.append(index) } else { missing.subtract(shapes) }
        }
        var draws = 0
        while !missing.isEmpty {
            draws += 1
            try #require(draws <= 100_000 && !plain.isEmpty, "no signature of shape \(missing.map { Self.shapes[$0].name }) in 100,000 draws")
            let index = plain[draws % plain.count]
            let signature = try keys[index].signature(for: message)
            let raw = try SignatureEncoding.raw(fromDER: signature)
            let shapes = missing.filter { Self.shapes[$0].test(raw) }
            if !shapes.isEmpty {
                signatures[index] = signature
                missing.subtract(shapes)
                plain.removeAll { $0 == index }
            }
        }
        return signatures
    }
}

/// Seven audit records (one a break-glass read with a reason that needs escaping) in a tree, and
/// what the hub signs over them: a checkpoint, the segment of records 2..<6 with its range
/// proof, and a report of those records — built in memory, signed with any key.
struct AuditFixture {
    let time = Date(timeIntervalSince1970: 1_796_000_100)
    let tree: MerkleTree
    let leaves: [[UInt8]]
    let root: [UInt8]
    let range = 2..<6

    init(suite: CryptoSuite) throws {
        var records = AuditLogTests.records(7)
        records[3].caller.purposeOfUse = "ETREAT"
        records[3].caller.breakGlassReason = "急诊抢救 \"昏迷\"\n\t无家属 / 120"
        let tree = MerkleTree(hash: suite.hash)
        self.tree = tree
        self.leaves = records.map(\.leafBytes)
        self.root = try tree.root(leafHashes: try self.leaves.map { try tree.leafHash($0) })
    }

    func report(signedWith key: any SigningKey, keyID: KeyID) throws -> AuditReport {
        let checkpoint = Checkpoint(
            origin: "hub.test/audit", size: self.leaves.count, rootHash: self.root, hashAlgorithm: self.tree.hash.algorithm, time: self.time)
        let signed = SignedCheckpoint(
            checkpoint: checkpoint,
            signature: try SignedObject.sign(Array(checkpoint.text.utf8), with: key, keyID: keyID),
            noteKeyID: try Checkpoint.noteKeyID(origin: checkpoint.origin, key: key.verifyingKey)
        )
        let source = InMemorySubtrees(tree: self.tree, leafHashes: try self.leaves.map { try self.tree.leafHash($0) })
        let segment = AuditLogSegment(
            checkpoint: signed, start: self.range.lowerBound, records: Array(self.leaves[self.range]),
            proof: try self.tree.rangeProof(self.range, size: self.leaves.count, in: source)
        )
        let parameters = AuditReportParameters(from: Date(timeIntervalSince1970: 1_795_996_800), to: Date(timeIntervalSince1970: 1_796_083_200))
        let decoded = try self.range.map { (index: $0, record: try AuditRecord(leafBytes: self.leaves[$0])) }
        let body = AuditReport.Body(
            generatedAt: AuditReportParameters.instant(self.time), parameters: parameters, checkpoint: signed.note,
            start: self.range.lowerBound, count: self.range.count, sections: AuditReportSections.compute(decoded, parameters: parameters)
        )
        return AuditReport(body: body, signature: try SignedObject.sign(try body.signedBytes(), with: key, keyID: keyID), segment: segment)
    }
}
