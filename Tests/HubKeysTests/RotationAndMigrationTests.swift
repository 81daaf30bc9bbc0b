import Foundation
import HubCrypto
import HubKeys
import HubTestSupport
import Testing

@Suite struct DataKeyRewrapTests {
    @Test func rotatingTheKEKRewrapsEveryDataKeyAndKeepsEverythingReadable() async throws {
        try await KeysFixture.with { fixture in
            let suite = try CryptoSuite.sm()
            let ring = fixture.ring(suite)
            var sealed: [(String, [UInt8])] = []
            for index in 0..<25 {
                sealed.append(("p\(index)", try await ring.seal(Array("record \(index)".utf8), subject: "p\(index)", context: [])))
            }
            let oldKEK = try await fixture.keyStore.currentKeyEncryptionKeyID(for: suite)

            // Interrupted after two batches of 7: some keys are still under the old KEK.
            let rewrap = DataKeyRewrap(ring: ring, batchSize: 7)
            _ = try await fixture.keyStore.rotateKeyEncryptionKey(for: suite)
            #expect(try await rewrap.rewrapRemaining(maximumBatches: 2) == 14)
            #expect(try await rewrap.keysUnderOldKEKs() == 11)
            // Everything opens meanwhile (old KEK still unwraps).
            for (_, bytes) in sealed.prefix(3) {
                #expect(try await fixture.ring(suite).open(bytes, context: []).isEmpty == false)
            }
            // Resumed: the rest.
            #expect(try await rewrap.rewrapRemaining() == 11)
            #expect(try await rewrap.keysUnderOldKEKs() == 0)

            // The old KEK can now be destroyed, and every record still opens.
            try await fixture.keyStore.destroyRetiredKey(oldKEK)
            let reader = fixture.ring(suite)
            for (index, (_, bytes)) in sealed.enumerated() {
                #expect(try await reader.open(bytes, context: []) == Array("record \(index)".utf8))
            }
            let jobs = try await CryptoJobProgress.all(on: fixture.database, logger: fixture.logger)
            #expect(jobs.first { $0.kind == "rewrap" }?.isDone == true)
        }
    }
}

@Suite struct SuiteMigrationTests {
    @Test func reencryptsToAnotherSuiteResumingAfterAnInterruption() async throws {
        try await KeysFixture.with { fixture in
            try await TestDatabase.execute(fixture.url, "CREATE TABLE test_records (id integer PRIMARY KEY, patient text NOT NULL, body bytea)")
            let context: @Sendable (String, String) -> [UInt8] = { key, _ in Array("test_records/\(key)".utf8) }
            let intl = fixture.ring(CryptoSuite.international())
            var originals: [Int: [UInt8]] = [:]
            for id in 1...30 {
                let body = Array("体检报告 \(id)".utf8)
                originals[id] = body
                let sealed = try await intl.seal(body, subject: "patient-\(id % 4)", context: context(String(id), ""))
                try await TestDatabase.execute(
                    fixture.url,
                    "INSERT INTO test_records VALUES (\(id), 'patient-\(id % 4)', '\\x\(sealed.map { String(format: "%02x", $0) }.joined())')"
                )
            }
            let column = try EncryptedColumn(table: "test_records", keyColumn: "id", subjectColumn: "patient", valueColumn: "body", context: context)
            let sm = fixture.ring(try CryptoSuite.sm())
            let migration = SuiteMigration(ring: sm, columns: [column], batchSize: 7)

            // "Killed" after two batches.
            let partial = try await migration.run(maximumBatches: 2)
            #expect(!partial.finished)
            #expect(partial.resealed["test_records.body"] == 14)

            // Resumed: the rest, and no row twice.
            let rest = try await migration.run()
            #expect(rest.finished)
            #expect(rest.resealed["test_records.body"] == 16)
            #expect(try await fixture.count("SELECT processed FROM crypto_jobs WHERE kind = 'reencrypt'") == 30)

            // Every row is now SM4-GCM and opens to what was written.
            let reader = fixture.ring(try CryptoSuite.sm())
            for id in 1...30 {
                let hex = try await TestDatabase.strings(fixture.url, "SELECT encode(body, 'hex') FROM test_records WHERE id = \(id)").first ?? ""
                let bytes = stride(from: 0, to: hex.count, by: 2).map { offset -> UInt8 in
                    let start = hex.index(hex.startIndex, offsetBy: offset)
                    return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
                }
                #expect(try reader.header(of: bytes).algorithm == .sm4GCM)
                #expect(try await reader.open(bytes, context: context(String(id), "")) == originals[id])
            }
            // A second complete run finds nothing to do.
            let again = try await migration.run()
            #expect(again.resealed["test_records.body"] == 0)
        }
    }

    @Test func columnNamesMustBePlainIdentifiers() {
        #expect(throws: EncryptedColumnError.self) {
            try EncryptedColumn(table: "t; DROP TABLE x", keyColumn: "id", subjectColumn: "s", valueColumn: "v", context: { _, _ in [] })
        }
    }
}
