import HubCrypto
import HubKeys
import HubTestSupport
import Testing

@Suite struct DataKeyRingTests {
    @Test func sealsPerSubjectAndOpensWithAFreshRing() async throws {
        try await KeysFixture.with { fixture in
            let suite = try CryptoSuite.sm()
            let ring = fixture.ring(suite)
            let record = Array(#"{"resourceType":"Patient","name":[{"text":"李娜"}]}"#.utf8)
            let first = try await ring.seal(record, subject: "patient-1", context: Array("Patient/1".utf8))
            let second = try await ring.seal(record, subject: "patient-1", context: Array("Patient/1".utf8))
            let other = try await ring.seal(record, subject: "patient-2", context: Array("Patient/2".utf8))
            #expect(first != second)  // fresh nonces
            #expect(try ring.header(of: first).keyID == (try ring.header(of: second).keyID))
            #expect(try ring.header(of: first).keyID != (try ring.header(of: other).keyID))
            #expect(try ring.header(of: first).algorithm == .sm4GCM)

            // A ring with an empty cache (another hub process) reads it too.
            let fresh = fixture.ring(suite)
            #expect(try await fresh.open(first, context: Array("Patient/1".utf8)) == record)
            await #expect(throws: CryptographyError.self) { try await fresh.open(first, context: Array("Patient/2".utf8)) }
            #expect(try await fixture.count("SELECT count(*) FROM data_keys") == 2)
        }
    }

    @Test func concurrentFirstUseCreatesOneDataKey() async throws {
        try await KeysFixture.with { fixture in
            let suite = CryptoSuite.international()
            let ciphertexts = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for index in 0..<20 {
                    // Separate rings: separate caches, as separate hub processes would have.
                    let ring = fixture.ring(suite)
                    group.addTask { try await ring.seal([UInt8(index)], subject: "patient-x", context: []) }
                }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(try await fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'patient-x'") == 1)
            let reader = fixture.ring(suite)
            for ciphertext in ciphertexts {
                #expect(try await reader.open(ciphertext, context: []).count == 1)
            }
        }
    }

    @Test func cryptoErasureMakesASubjectsRecordsUnreadable() async throws {
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let erased = try await ring.seal(Array("检验报告".utf8), subject: "patient-erase", context: [])
            let kept = try await ring.seal(Array("other".utf8), subject: "patient-keep", context: [])
            #expect(try await ring.erase(subject: "patient-erase") == 1)

            let error = await #expect(throws: CryptographyError.self) { try await ring.open(erased, context: []) }
            #expect(error?.code == .erased)
            #expect(error?.message.hasSuffix("was erased") == true)
            // Not only this ring: a fresh one (another process after its cache expired) cannot either.
            await #expect(throws: CryptographyError.self) { try await fixture.ring(try CryptoSuite.sm()).open(erased, context: []) }
            #expect(try await ring.open(kept, context: []) == Array("other".utf8))
            #expect(try await fixture.count("SELECT count(*) FROM data_keys WHERE wrapped IS NULL") == 1)

            // The subject can get new data under a new key.
            let again = try await ring.seal([1], subject: "patient-erase", context: [])
            #expect(try ring.header(of: again).keyID != (try ring.header(of: erased).keyID))
        }
    }

    @Test func wrappedKeysAreBoundToTheirRow() async throws {
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(CryptoSuite.international())
            let a = try await ring.seal([1], subject: "patient-a", context: [])
            _ = try await ring.seal([2], subject: "patient-b", context: [])
            // Swap the wrapped keys of the two rows in the database.
            try await TestDatabase.execute(
                fixture.url,
                """
                UPDATE data_keys d SET wrapped = o.wrapped FROM data_keys o
                WHERE d.subject <> o.subject AND d.subject IN ('patient-a', 'patient-b')
                """
            )
            await #expect(throws: CryptographyError.self) { try await fixture.ring(CryptoSuite.international()).open(a, context: []) }
        }
    }
}
