import Foundation
import HubAudit
import HubCrypto
import HubStorage
import HubTestSupport
import Testing

@Suite struct AuditLogTests {
    static func records(_ count: Int, from first: Int = 0) -> [AuditRecord] {
        (first..<(first + count)).map { number in
            AuditRecord(
                time: Date(timeIntervalSince1970: 1_796_000_000 + Double(number)),
                action: .read,
                interaction: "read",
                status: 200,
                caller: Caller(
                    client: "his-\(number % 3)", organization: "org-\(number % 3)", address: "10.0.0.\(number % 250)", requestID: "req-\(number)"),
                patient: "p\(number % 5)",
                resourceType: "Observation",
                entities: ["Observation/o\(number)/_history/1"]
            )
        }
    }

    /// Builds a log of `sizes.reduce(+)` records, integrating after each batch.
    static func build(_ log: AuditLog, batches sizes: [Int]) async throws -> [[UInt8]] {
        var leaves: [[UInt8]] = []
        for size in sizes {
            let batch = Self.records(size, from: leaves.count)
            try await log.enqueue(batch)
            leaves += batch.map(\.leafBytes)
            #expect(try await log.integrate() == size)
        }
        return leaves
    }

    @Test(arguments: ["sm", "intl"])
    func integratedRecordsHaveTheTreesRootsAndProofs(suiteName: String) async throws {
        try await KeysFixture.with { fixture in
            let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
            let log = fixture.auditLog(suite)
            let tree = MerkleTree(hash: suite.hash)
            var leaves: [[UInt8]] = []
            var checkpoints: [SignedCheckpoint] = []
            // Batches of odd sizes, so that complete subtrees span batch boundaries.
            for size in [1, 2, 5, 8, 13, 1, 7] {
                let batch = Self.records(size, from: leaves.count)
                try await log.enqueue(batch)
                leaves += batch.map(\.leafBytes)
                #expect(try await log.integrate() == size)
                let hashes = try leaves.map { try tree.leafHash($0) }
                #expect(try await log.root(size: leaves.count) == tree.root(leafHashes: hashes))
                checkpoints.append(try await log.checkpoint())
            }
            #expect(try await log.integrate() == 0)
            let keys = try await fixture.publishedKeys(suite)
            let hashes = try leaves.map { try tree.leafHash($0) }
            for signed in checkpoints {
                try signed.verify(with: keys)
                #expect(signed.checkpoint.rootHash == (try tree.root(leafHashes: Array(hashes.prefix(signed.checkpoint.size)))))
                #expect(try await log.checkpoint(size: signed.checkpoint.size) == signed)
            }
            let latest = try #require(try await log.latestCheckpoint())
            #expect(latest.checkpoint.size == leaves.count)
            // Signing again without growth returns the same head.
            #expect(try await log.checkpoint() == latest)

            for index in [0, 1, 6, 20, leaves.count - 1] {
                let proof = try await log.inclusionProof(index: index, size: leaves.count)
                #expect(
                    tree.verifyInclusion(leafHash: hashes[index], index: index, size: leaves.count, proof: proof, root: latest.checkpoint.rootHash))
            }
            for old in checkpoints.dropLast() {
                let proof = try await log.consistencyProof(oldSize: old.checkpoint.size, newSize: latest.checkpoint.size)
                #expect(
                    tree.verifyConsistency(
                        oldSize: old.checkpoint.size, newSize: latest.checkpoint.size,
                        oldRoot: old.checkpoint.rootHash, newRoot: latest.checkpoint.rootHash, proof: proof
                    ))
            }
            // A segment of the log verifies offline against the signed head and the public keys.
            let verifier = AuditLogVerifier(keys: keys, registry: fixture.registry)
            for range in [0..<leaves.count, 3..<11, (leaves.count - 1)..<leaves.count] {
                let segment = AuditLogSegment(
                    checkpoint: latest,
                    start: range.lowerBound,
                    records: try await log.records(range),
                    proof: try await log.rangeProof(range, size: latest.checkpoint.size)
                )
                let verified = try verifier.verify(segment)
                #expect(verified.range == range)
                #expect(verified.leaves == Array(leaves[range]))
                #expect(try verified.records().map(\.leafBytes) == Array(leaves[range]))
            }
            await #expect(throws: AuditLogError.self) { try await log.inclusionProof(index: 0, size: leaves.count + 1) }
        }
    }

    @Test func changingDeletingInsertingOrReorderingRowsIsDetected() async throws {
        try await KeysFixture.with { fixture in
            let suite = try CryptoSuite.sm()
            let log = fixture.auditLog(suite)
            _ = try await Self.build(log, batches: [20])
            let checkpoint = try await log.checkpoint()
            let keys = try await fixture.publishedKeys(suite)
            let verifier = AuditLogVerifier(keys: keys, registry: fixture.registry)
            func segment() async throws -> AuditLogSegment {
                let size = try await log.size()
                return AuditLogSegment(checkpoint: checkpoint, start: 0, records: try await log.records(0..<min(size, 20)), proof: [])
            }
            #expect(try verifier.verify(try await segment()).leaves.count == 20)

            let cases: [(tamper: String, undo: String)] = [
                // One byte of one record (a user id rewritten).
                (
                    "UPDATE audit_log SET record = convert_to(replace(convert_from(record, 'UTF8'), 'his-1', 'his-2'), 'UTF8') WHERE idx = 7",
                    "UPDATE audit_log SET record = convert_to(replace(convert_from(record, 'UTF8'), 'his-2', 'his-1'), 'UTF8') WHERE idx = 7"
                ),
                // A record deleted and the rest moved up to close the gap.
                (
                    "CREATE TABLE saved AS SELECT * FROM audit_log; DELETE FROM audit_log WHERE idx >= 5; INSERT INTO audit_log SELECT idx - 1, record, leaf_hash, recorded_at, action, patient, client, organization, user_id FROM saved WHERE idx > 5",
                    "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved"
                ),
                // A forged record inserted in the middle.
                (
                    "CREATE TABLE saved AS SELECT * FROM audit_log; DELETE FROM audit_log WHERE idx >= 9; INSERT INTO audit_log SELECT idx + 1, record, leaf_hash, recorded_at, action, patient, client, organization, user_id FROM saved WHERE idx >= 9; INSERT INTO audit_log SELECT 9, record, leaf_hash, recorded_at, action, patient, client, organization, user_id FROM saved WHERE idx = 3",
                    "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved"
                ),
                // Two records swapped.
                (
                    "UPDATE audit_log SET idx = CASE idx WHEN 2 THEN -1 ELSE idx END WHERE idx = 2; UPDATE audit_log SET idx = 2 WHERE idx = 12; UPDATE audit_log SET idx = 12 WHERE idx = -1",
                    "UPDATE audit_log SET idx = -1 WHERE idx = 2; UPDATE audit_log SET idx = 2 WHERE idx = 12; UPDATE audit_log SET idx = 12 WHERE idx = -1"
                ),
                // The last record deleted.
                (
                    "CREATE TABLE saved AS SELECT * FROM audit_log WHERE idx = 19; DELETE FROM audit_log WHERE idx = 19",
                    "INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved"
                ),
            ]
            // One statement at a time (the extended protocol takes no scripts).
            func run(_ script: String) async throws {
                for statement in script.components(separatedBy: "; ") { try await TestDatabase.execute(fixture.url, statement) }
            }
            for (tamper, undo) in cases {
                try await run("ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_log DROP CONSTRAINT audit_log_idx_check")
                try await run(tamper)
                let tampered = try await segment()
                #expect(throws: AuditVerificationError.self, "undetected: \(tamper)") { try verifier.verify(tampered) }
                try await run(undo)
                try await run("ALTER TABLE audit_log ADD CONSTRAINT audit_log_idx_check CHECK (idx >= 0); ALTER TABLE audit_log ENABLE TRIGGER USER")
                #expect(try verifier.verify(try await segment()).leaves.count == 20)
            }
        }
    }

    /// A record is found by its id (an AuditEvent read), whatever strings it holds: a NUL, which
    /// PostgreSQL's JSON types refuse, and a string that looks like an id member, do not stop the
    /// log from growing nor mislead the look-up.
    @Test func recordsAreFoundByIdWhateverStringsTheyHold() async throws {
        try await KeysFixture.with { fixture in
            let log = fixture.auditLog(try CryptoSuite.sm())
            var records = Self.records(3)
            records[1].caller.breakGlassReason = "抢救 \u{0} \"id\":\"\(records[2].id)\""
            records[1].parameters = ["a\u{0}b", "\"id\":\"x\""]
            try await log.enqueue(records)
            #expect(try await log.integrate() == 3)
            for (index, record) in records.enumerated() {
                let found = try #require(try await log.record(id: record.id))
                #expect(found.index == index)
                #expect(found.leaf == record.leafBytes)
            }
            #expect(try await log.record(id: "x") == nil)
            #expect(try await log.record(id: UUID().uuidString.lowercased()) == nil)
        }
    }

    @Test func theLogTablesRefuseUpdatesAndDeletes() async throws {
        try await KeysFixture.with { fixture in
            let log = fixture.auditLog(try CryptoSuite.sm())
            _ = try await Self.build(log, batches: [4])
            _ = try await log.checkpoint()
            for statement in [
                "UPDATE audit_log SET action = 'C' WHERE idx = 1",
                "DELETE FROM audit_log WHERE idx = 3",
                "TRUNCATE audit_log",
                "DELETE FROM audit_nodes",
                "UPDATE audit_checkpoints SET note = ''",
                "TRUNCATE audit_checkpoints CASCADE",
            ] {
                await #expect(throws: (any Error).self, "allowed: \(statement)") { try await TestDatabase.execute(fixture.url, statement) }
            }
            #expect(try await fixture.count("SELECT count(*) FROM audit_log") == 4)
            #expect(try await fixture.count("SELECT count(*) FROM audit_log WHERE action = 'R'") == 4)
        }
    }

    @Test func concurrentWritersShareBatchesAndLoseNothing() async throws {
        try await KeysFixture.with { fixture in
            let log = fixture.auditLog(try CryptoSuite.sm())
            let writer = AuditWriter(log: log, maximumBatch: 50)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<300 {
                    group.addTask { try await writer.write(Self.records(1 + number % 3, from: number * 10)) }
                }
                try await group.waitForAll()
            }
            let expected = (0..<300).reduce(0) { $0 + 1 + $1 % 3 }
            #expect(try await fixture.count("SELECT count(*) FROM audit_queue") == expected)
            while try await log.integrate(limit: 97) > 0 {}
            #expect(try await log.size() == expected)
            #expect(try await fixture.count("SELECT count(*) FROM audit_queue") == 0)
            // Every request's records are together and in their order.
            #expect(try await fixture.count("SELECT count(DISTINCT record) FROM audit_log") == expected)
        }
    }

    @Test func aCheckpointNoteIsACheckpointInASignedNote() async throws {
        try await KeysFixture.with { fixture in
            let suite = try CryptoSuite.sm()
            let log = fixture.auditLog(suite, origin: "hub.example.cn/audit")
            _ = try await Self.build(log, batches: [3])
            let signed = try await log.checkpoint()
            let lines = signed.note.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines[0] == "hub.example.cn/audit")
            #expect(lines[1] == "3")
            #expect(lines[3] == "hash SM3")
            #expect(lines[4].hasPrefix("time "))
            #expect(lines[5] == "")
            #expect(lines[6].hasPrefix("\u{2014} hub.example.cn/audit "))
            #expect(try SignedCheckpoint(note: signed.note) == signed)
            let keys = try await fixture.publishedKeys(suite)
            try signed.verify(with: keys)
            // Another size, another root, another origin, or another key: refused.
            for forged in [
                signed.note.replacingOccurrences(of: "\n3\n", with: "\n4\n"),
                signed.note.replacingOccurrences(of: "hub.example.cn/audit\n", with: "hub.example.com/audit\n"),
            ] {
                #expect(throws: CheckpointError.self) { try SignedCheckpoint(note: forged).verify(with: keys) }
            }
            let international = try await fixture.publishedKeys(CryptoSuite.international()).filter { $0.value.algorithm == .ecdsaP256SHA256 }
            #expect(throws: CheckpointError.self) { try signed.verify(with: international) }
            // A witness's cosignature line is ignored by the parser.
            let cosigned = signed.note + "\u{2014} witness.example AAAA\n"
            #expect(try SignedCheckpoint(note: cosigned) == signed)
        }
    }
    @Test func aFeedIsHeldByOneHolderAtATime() async throws {
        try await KeysFixture.with { fixture in
            let log = fixture.auditLog(try CryptoSuite.sm())
            #expect(try await log.claimFeed("probe", holder: "a", for: .seconds(60)) == 0)
            #expect(try await log.claimFeed("probe", holder: "b", for: .seconds(60)) == nil)
            try await log.advanceFeed("probe", to: 7)
            #expect(try await log.claimFeed("probe", holder: "a", for: .seconds(60)) == 7)
            // Given up at a clean stop: the other takes it at once, where it had got to.
            try await log.releaseFeed("probe", holder: "b")
            #expect(try await log.claimFeed("probe", holder: "b", for: .seconds(60)) == nil)
            try await log.releaseFeed("probe", holder: "a")
            #expect(try await log.claimFeed("probe", holder: "b", for: .seconds(60)) == 7)
            #expect(try await log.claimFeed("probe", holder: "a", for: .seconds(60)) == nil)
            // A holder that stops renewing loses it when its lease runs out (made to have run
            // out here, rather than waited for: a loaded machine must not decide the test).
            try await TestDatabase.execute(fixture.url, "UPDATE audit_feeds SET held_until = now() - interval '1 second' WHERE name = 'probe'")
            #expect(try await log.claimFeed("probe", holder: "a", for: .seconds(60)) == 7)
        }
    }
}

@Suite struct AuditSegmentPeerTests {
    /// A verifier written in Python from docs/audit.md alone agrees: segments verify under both
    /// suites, and a changed record or a wrong proof does not.
    @Test(arguments: ["sm", "intl"])
    func anIndependentVerifierAcceptsTheSegmentsAndRefusesTampering(suiteName: String) async throws {
        try await KeysFixture.with { fixture in
            let suite = suiteName == "sm" ? try CryptoSuite.sm() : CryptoSuite.international()
            let log = fixture.auditLog(suite)
            var records = AuditLogTests.records(23)
            records[4].caller.breakGlassReason = "急诊抢救 \"昏迷\"\n\t无家属"
            try await log.enqueue(records)
            while try await log.integrate() > 0 {}
            let checkpoint = try await log.checkpoint()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let keys = PublishedKeysDocument(suite: suite.name, keys: try await fixture.keyStore.verifyingKeys())
            try JSONEncoder().encode(keys).write(to: URL(fileURLWithPath: "\(directory)/keys.json"))
            func peer(_ segment: AuditLogSegment) async throws -> [String: Any] {
                try JSONEncoder().encode(segment).write(to: URL(fileURLWithPath: "\(directory)/segment.json"))
                let output = try await TestPeer.run("segment_verifier.py", ["\(directory)/segment.json", "\(directory)/keys.json"])
                #expect(output.status == 0, "\(output.standardError)")
                return try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any] ?? [:]
            }
            for range in [0..<23, 4..<9, 22..<23] {
                let segment = AuditLogSegment(
                    checkpoint: checkpoint, start: range.lowerBound,
                    records: try await log.records(range), proof: try await log.rangeProof(range, size: 23)
                )
                let answer = try await peer(segment)
                #expect(answer["verified"] as? Bool == true, "\(range): \(answer)")
                #expect(answer["records"] as? Int == range.count)
                var changed = segment
                changed.records[0] = changed.records[0].replacingOccurrences(of: "\"R\"", with: "\"C\"")
                #expect(try await peer(changed)["verified"] as? Bool == false)
                var shifted = segment
                shifted.start += range.upperBound < 23 ? 1 : -1
                #expect(try await peer(shifted)["verified"] as? Bool == false)
            }
        }
    }

}
