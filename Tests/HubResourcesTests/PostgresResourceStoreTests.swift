import Foundation
import HubCrypto
import HubFHIR
import HubKeys
import HubTestSupport
import Testing

@testable import HubResources

@Suite struct PostgresResourceStoreTests {
    static func object(_ json: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
    }

    @Test func createReadUpdateDeleteAndHistory() async throws {
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let store = PostgresResourceStore(database: fixture.database, ring: ring, logger: fixture.logger)
            var patients = SyntheticPatients(seed: 11)
            let created = try await store.create(try Self.object(patients.patientJSON()), type: .patient, audit: .test)
            #expect(created.versionID == 1)
            #expect(created.resource?["meta"]?.objectValue?["versionId"] == .string("1"))

            let read = try await store.read(.patient, id: created.id)
            #expect(read == created)

            var changed = try #require(read.resource)
            changed["active"] = .bool(true)
            let updated = try await store.update(changed, type: .patient, id: created.id, ifMatch: 1, audit: .test)
            #expect(updated.versionID == 2)
            let stale = await #expect(throws: ResourceError.self) {
                try await store.update(changed, type: .patient, id: created.id, ifMatch: 1, audit: .test)
            }
            #expect(stale?.code == .preconditionFailed)

            let deleted = try await store.delete(.patient, id: created.id, audit: .test)
            #expect(deleted.versionID == 3 && deleted.isDeleted)
            let gone = await #expect(throws: ResourceError.self) { try await store.read(.patient, id: created.id) }
            #expect(gone?.code == .gone)
            #expect(try await store.delete(.patient, id: created.id, audit: .test).versionID == 3)  // idempotent

            let versionOne = try await store.read(.patient, id: created.id, version: 1)
            #expect(versionOne.resource?["active"] == nil)
            let history = try await store.history(.patient, id: created.id, count: 10)
            #expect(history.map(\.versionID) == [3, 2, 1])
            #expect(history[1].resource?["active"] == .bool(true))

            let missing = await #expect(throws: ResourceError.self) { try await store.read(.patient, id: "nope") }
            #expect(missing?.code == .notFound)
            let updateMissing = await #expect(throws: ResourceError.self) {
                try await store.update(changed, type: .patient, id: "nope", ifMatch: nil, audit: .test)
            }
            // Answered like an update of a record the caller may not see (no existence oracle).
            #expect(updateMissing?.code == .notFound)
            #expect(updateMissing?.diagnostics == "Patient/nope does not exist")
        }
    }

    @Test func bodiesAreEncryptedWithThePatientsKeyAndErasedWithIt() async throws {
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let store = PostgresResourceStore(database: fixture.database, ring: ring, logger: fixture.logger)
            var patients = SyntheticPatients(seed: 5)
            let patient = try await store.create(try Self.object(patients.patientJSON()), type: .patient, audit: .test)
            let observation = try await store.create(
                try Self.object(
                    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"Patient/\#(patient.id)"},"valueQuantity":{"value":13.50,"unit":"g/dL"}}"#
                ),
                type: .observation, audit: .test)
            // Nothing identifying is stored in clear.
            let bodies = try await TestDatabase.strings(fixture.url, "SELECT encode(body, 'escape') FROM resource_versions")
            #expect(!bodies.contains { $0.contains("urn:health-hub") || $0.contains("718-7") })
            #expect(try await fixture.count("SELECT count(DISTINCT subject) FROM resource_versions") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM resources WHERE patient_id = '\(patient.id)'") == 2)
            // The decimal keeps its precision through encryption and storage.
            let read = try await store.read(.observation, id: observation.id)
            #expect(read.resource?["valueQuantity"]?.objectValue?["value"] == .number("13.50"))

            // Crypto-erasure of the patient: both resources become unreadable, and their search
            // index rows (codes in clear, blind identifiers and names) are gone with the keys —
            // other records' rows stay.
            let other = try await store.create(try Self.object(patients.patientJSON()), type: .patient, audit: .test)
            let indexRows =
                "SELECT (SELECT count(*) FROM search_token WHERE id = ANY($1)) + (SELECT count(*) FROM search_string WHERE id = ANY($1)) + (SELECT count(*) FROM search_reference WHERE id = ANY($1)) + (SELECT count(*) FROM search_quantity WHERE id = ANY($1)) + (SELECT count(*) FROM search_date WHERE id = ANY($1)) + (SELECT count(*) FROM search_composite WHERE id = ANY($1))"
            let before = try await fixture.count(indexRows.replacingOccurrences(of: "$1", with: "ARRAY['\(patient.id)','\(observation.id)']"))
            let otherBefore = try await fixture.count(indexRows.replacingOccurrences(of: "$1", with: "ARRAY['\(other.id)']"))
            #expect(before > 0 && otherBefore > 0)
            let report = try await RecordErasure(database: fixture.database, ring: ring, logger: fixture.logger).erase(
                subject: "Patient/\(patient.id)")
            #expect(report.dataKeys == 1)
            #expect(report.indexRows == before)
            #expect(try await fixture.count(indexRows.replacingOccurrences(of: "$1", with: "ARRAY['\(patient.id)','\(observation.id)']")) == 0)
            #expect(try await fixture.count(indexRows.replacingOccurrences(of: "$1", with: "ARRAY['\(other.id)']")) == otherBefore)
            let fresh = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            await #expect(throws: CryptographyError.self) { try await fresh.read(.observation, id: observation.id) }
            await #expect(throws: CryptographyError.self) { try await fresh.read(.patient, id: patient.id) }
        }
    }

    /// `hub records reprocess`: rows written under older rules (no index rows, no patient) get
    /// today's index rows and patient back, page by page; a second run changes nothing.
    @Test func reprocessingRestoresIndexRowsAndPatients() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            var patients = SyntheticPatients(seed: 17)
            let patient = try await store.create(try Self.object(patients.patientJSON()), type: .patient, audit: .test)
            let observation = try await store.create(
                try Self.object(
                    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/\#(patient.id)"}}"#
                ),
                type: .observation, audit: .test
            )
            let indexRows =
                "SELECT (SELECT count(*) FROM search_token) + (SELECT count(*) FROM search_string) + (SELECT count(*) FROM search_reference)"
            let before = try await fixture.count(indexRows)
            // As an older hub might have left them.
            for table in ["search_token", "search_string", "search_reference"] { try await TestDatabase.execute(fixture.url, "DELETE FROM \(table)") }
            try await TestDatabase.execute(fixture.url, "UPDATE resources SET patient_id = NULL WHERE id = '\(observation.id)'")
            #expect(try await store.search(try SearchQuery(type: .observation, parameters: [("code", "2345-7")], lenient: false)).resources.isEmpty)

            var cursor: String?
            var pages = 0
            var reclassified: [String] = []
            repeat {
                let page = try await store.reprocess(after: cursor, limit: 1)
                reclassified += page.reclassified
                #expect(page.refused.isEmpty)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages >= 2)
            #expect(reclassified == ["Observation/\(observation.id)"])
            #expect(try await fixture.count(indexRows) == before)
            #expect(try await fixture.count("SELECT count(*) FROM resources WHERE patient_id = '\(patient.id)'") == 2)
            #expect(
                try await store.search(try SearchQuery(type: .observation, parameters: [("code", "2345-7")], lenient: false)).resources.map(\.id) == [
                    observation.id
                ])
            let again = try await store.reprocess(after: nil, limit: 100)
            #expect(again.examined == 2 && again.reclassified.isEmpty && again.next == nil)
            #expect(try await fixture.count(indexRows) == before)
            // The format marker: an empty-at-migration hub is current; reprocessing says so too.
            #expect(try await PostgresResourceStore.storedRecordsFormat(fixture.database) == PostgresResourceStore.recordsFormat)
            try await store.markReprocessed()
            // Crypto-erased records are skipped, not fatal.
            _ = try await RecordErasure(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger).erase(
                subject: "Patient/\(patient.id)")
            let fresh = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let afterErasure = try await fresh.reprocess(after: nil, limit: 100)
            #expect(afterErasure.erased == 2 && afterErasure.refused.isEmpty)
        }
    }

    @Test func concurrentUpdatesWithIfMatchHaveExactlyOneWinner() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(CryptoSuite.international()), logger: fixture.logger)
            let created = try await store.create(
                try Self.object(#"{"resourceType":"Organization","name":"市第一人民医院"}"#), type: .organization, audit: .test)
            let resource = try #require(created.resource)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    var copy = resource
                    copy["alias"] = .array([.string("院区\(index)")])
                    group.addTask {
                        do {
                            _ = try await store.update(copy, type: .organization, id: created.id, ifMatch: 1, audit: .test)
                            return true
                        } catch let error as ResourceError where error.code == .preconditionFailed {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await store.read(.organization, id: created.id).versionID == 2)
        }
    }

    /// A run of creates is written with a few statements for all of them; a resident ID given
    /// twice in one transaction, or already taken, fails the whole transaction and names the entry.
    @Test func aBatchOfCreatesKeepsResidentIDsUnique() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(
                database: fixture.database,
                ring: fixture.ring(try CryptoSuite.sm()),
                logger: fixture.logger,
                uniquePatientIdentifierSystems: ["urn:health-hub:sid:resident-id"]
            )
            var patients = SyntheticPatients(seed: 99)
            let documents = try (0..<50).map { _ in try #require(try JSONParser.parse(Array(patients.patientJSON().utf8)).objectValue) }
            let created = try await store.transaction(documents.map { .create(.patient, id: nil, $0) }, audit: .test)
            #expect(created.count == 50 && Set(created.map(\.id)).count == 50)
            for stored in created.prefix(3) {
                #expect(try await store.read(.patient, id: stored.id).resource == stored.resource)
            }
            let fresh = try #require(try JSONParser.parse(Array(patients.patientJSON().utf8)).objectValue)
            let twice = [fresh, documents[7], fresh].map { WriteOperation.create(.patient, id: nil, $0) }
            await #expect {
                try await store.transaction([twice[0], twice[2]], audit: .test)
            } throws: { error in
                (error as? ResourceError)?.code == .conflict && (error as? ResourceError)?.diagnostics.hasPrefix("entry 1:") == true
            }
            await #expect {
                try await store.transaction(twice.prefix(2).map { $0 }, audit: .test)
            } throws: { error in
                (error as? ResourceError)?.code == .conflict && (error as? ResourceError)?.diagnostics.contains("If-None-Exist") == true
                    && (error as? ResourceError)?.diagnostics.contains(created[7].id) == false
            }
            let all = try await store.search(try SearchQuery(type: .patient, parameters: [("_summary", "count")], lenient: false))
            #expect(all.total == 50)
        }
    }

    @Test func everyTypeRoundTrips() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            for type in ResourceType.allCases {
                let json =
                    #"{"resourceType":"\#(type.rawValue)","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">测试</div>"}}"#
                let created = try await store.create(try Self.object(json), type: type, audit: .test)
                let read = try await store.read(type, id: created.id)
                #expect(read.resource?["text"] == created.resource?["text"], "\(type)")
                #expect(read.resource?["resourceType"] == .string(type.rawValue))
            }
        }
    }
}
