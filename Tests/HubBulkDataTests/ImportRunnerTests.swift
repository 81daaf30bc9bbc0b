import Foundation
import HubAudit
import HubBulkData
import HubBulkDataCore
import HubCrypto
import HubFHIR
import HubKeys
import HubResources
import HubResourcesCore
import HubSynthetic
import HubTestSupport
import Testing

/// Import jobs against a real PostgreSQL: a job taken over by another runner mid-way writes
/// every line once, and a finished job's inputs are gone with their keys.
@Suite struct ImportRunnerTests {
    static func validator() throws -> ResourceValidator {
        try ResourceValidator.load(profilesDirectory: try TestEnvironment.repositoryRoot() + "/profiles/fhir")
    }

    /// `count` patients of a source system as NDJSON, ids `src-1`…, each line compact.
    static func patients(seed: UInt64, count: Int) throws -> [UInt8] {
        var synthetic = SyntheticPatients(seed: seed)
        var ndjson: [UInt8] = []
        for number in 1...count {
            var object = try #require(try JSONParser.parse(Array(synthetic.patientJSON().utf8)).objectValue)
            object["id"] = .string("src-\(number)")
            ndjson += JSONValue.object(object).serialized() + [UInt8(ascii: "\n")]
        }
        return ndjson
    }

    @Test func aJobResumedByAnotherRunnerWritesEveryLineOnce() async throws {
        let validator = try Self.validator()
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let store = PostgresResourceStore(database: fixture.database, ring: ring, logger: fixture.logger)
            let jobs = ImportJobStore(database: fixture.database, ring: ring, logger: fixture.logger)
            // The hospital's system, registered and active: a runner writes only for such a client.
            try await TestDatabase.execute(fixture.url, "INSERT INTO organizations (id, name, kind) VALUES ('hospital-a', '甲医院', 'hospital')")
            try await TestDatabase.execute(
                fixture.url,
                """
                INSERT INTO principals (id, kind, role, organization_id, name, scopes)
                VALUES ('hospital-a-his', 'client', 'system', 'hospital-a', 'HIS', '{system/*.*}')
                """)
            let ndjson = try Self.patients(seed: 50, count: 7)
            #expect(ImportLineReader.count(ndjson) == 7)
            let input = try #require(
                try await jobs.stage(ndjson, lines: 7, principal: "hospital-a-his", organization: "hospital-a", lifetime: .seconds(3_600)))
            let description = ImportJobDescription(
                request: ImportRequest(inputs: [ImportRequest.Input(type: .patient, inputID: input)]), requestURL: "https://hub.test/fhir/$import",
                caller: Caller(client: "hospital-a-his", organization: "hospital-a"), writableTypes: nil)
            guard case .queued(let id) = try await jobs.kickOff(description, principal: "hospital-a-his", organization: "hospital-a") else {
                Issue.record("the import was not queued")
                return
            }
            // Runners that write one batch of three lines each time they hold the job, as a hub
            // stopped after each batch would: the next one goes on from the committed cursor.
            var settings = ImportRunner.Settings(pollInterval: .milliseconds(50), lease: .seconds(30), lifetime: .seconds(3_600))
            settings.batchSize = 3
            settings.batchesPerClaim = 1
            var progress: [Int] = []
            for _ in 0..<5 {
                let runner = ImportRunner(jobs: jobs, store: store, validator: validator, settings: settings, logger: fixture.logger)
                guard try await runner.runOne() else { break }
                let job = try #require(try await jobs.job(id, principal: "hospital-a-his", organization: "hospital-a"))
                progress.append(job.created)
                if job.state == .completed { break }
            }
            #expect(progress == [3, 6, 7])
            let job = try #require(try await jobs.job(id, principal: "hospital-a-his", organization: "hospital-a"))
            #expect(job.state == .completed)
            #expect(job.created == 7 && job.skipped == 0 && job.refused == 0)
            // Every line once, under its namespaced id.
            let identity = ImportIdentity(organization: "hospital-a", key: try await store.importKey(organization: "hospital-a"))
            for number in 1...7 {
                let stored = try await store.read(.patient, id: identity.id(.patient, "src-\(number)"))
                #expect(stored.resource?["name"] != nil)
            }
            #expect(try await fixture.count("SELECT count(*) FROM resources WHERE type = 'Patient'") == 7)
            // The finished job's input is gone, and its key with it.
            #expect(try await fixture.count("SELECT count(*) FROM import_inputs") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'import:\(input)' AND erased_at IS NULL") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'import:\(input)'") > 0)

            // A job of a client deactivated meanwhile writes nothing more and fails, saying why.
            let more = try Self.patients(seed: 51, count: 2)
            let second = try #require(
                try await jobs.stage(more, lines: 2, principal: "hospital-a-his", organization: "hospital-a", lifetime: .seconds(3_600)))
            var later = description
            later.request = ImportRequest(inputs: [ImportRequest.Input(type: .patient, inputID: second)])
            guard case .queued(let laterID) = try await jobs.kickOff(later, principal: "hospital-a-his", organization: "hospital-a") else {
                Issue.record("the second import was not queued")
                return
            }
            try await TestDatabase.execute(fixture.url, "UPDATE principals SET active = false WHERE id = 'hospital-a-his'")
            let runner = ImportRunner(jobs: jobs, store: store, validator: validator, settings: settings, logger: fixture.logger)
            #expect(try await runner.runOne())
            let stopped = try #require(try await jobs.job(laterID, principal: "hospital-a-his", organization: "hospital-a"))
            #expect(stopped.state == .failed && stopped.created == 0)
            #expect(stopped.error?.contains("deactivated") == true)
            // Another organization's namespace never meets this one.
            let other = ImportIdentity(organization: "hospital-b", key: try await store.importKey(organization: "hospital-b"))
            #expect(other.id(.patient, "src-1") != identity.id(.patient, "src-1"))
        }
    }
}
