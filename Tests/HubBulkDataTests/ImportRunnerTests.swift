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

/// Import jobs against a real PostgreSQL: batches pipelined and jobs taken over by other runners
/// write every line once; spent conflict attempts make a job wait; a finished job's inputs are
/// gone with their keys; a deactivated client's job stops.
@Suite struct ImportRunnerTests {
    /// Hospital A's system, registered and active, and the stores an import goes through.
    struct World: Sendable {
        let fixture: KeysFixture
        let store: PostgresResourceStore
        let jobs: ImportJobStore
        let validator: ResourceValidator
        static let principal = "hospital-a-his"
        static let organization = "hospital-a"

        func runner(batchSize: Int, batchesPerClaim: Int?) -> ImportRunner {
            var settings = ImportRunner.Settings(pollInterval: .milliseconds(50), lease: .seconds(30), lifetime: .seconds(3_600))
            settings.batchSize = batchSize
            settings.batchesPerClaim = batchesPerClaim
            return ImportRunner(jobs: self.jobs, store: self.store, validator: self.validator, settings: settings, logger: self.fixture.logger)
        }

        /// Stages `ndjson` as Patients and queues a job over it; returns the job's and the input's ids.
        func queue(_ ndjson: [UInt8]) async throws -> (job: String, input: String) {
            let input = try #require(
                try await self.jobs.stage(
                    ndjson, lines: ImportLineReader.count(ndjson), principal: Self.principal, organization: Self.organization,
                    lifetime: .seconds(3_600)))
            let description = ImportJobDescription(
                request: ImportRequest(inputs: [ImportRequest.Input(type: .patient, inputID: input)]), requestURL: "https://hub.test/fhir/$import",
                caller: Caller(client: Self.principal, organization: Self.organization), writableTypes: nil)
            guard case .queued(let id) = try await self.jobs.kickOff(description, principal: Self.principal, organization: Self.organization)
            else { throw ImportTestFailure(description: "the import was not queued") }
            return (id, input)
        }

        func job(_ id: String) async throws -> ImportJobStore.Job {
            try #require(try await self.jobs.job(id, principal: Self.principal, organization: Self.organization))
        }

        /// Runs claims of `runner`s until the job completes (at most `claims`); returns what was
        /// done after each.
        func progress(_ id: String, claims: Int, batchSize: Int, batchesPerClaim: Int?) async throws -> [Int] {
            var progress: [Int] = []
            for _ in 0..<claims {
                guard try await self.runner(batchSize: batchSize, batchesPerClaim: batchesPerClaim).runOne() else { break }
                let job = try await self.job(id)
                progress.append(job.created + job.skipped + job.refused)
                if job.state == .completed { break }
            }
            return progress
        }
    }

    struct ImportTestFailure: Error, CustomStringConvertible {
        var description: String
    }

    func withWorld(conflicts: AttemptLimiter? = nil, _ body: @escaping @Sendable (World) async throws -> Void) async throws {
        let validator = try ResourceValidator.load(profilesDirectory: try TestEnvironment.repositoryRoot() + "/profiles/fhir")
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let store = PostgresResourceStore(
                database: fixture.database, ring: ring, logger: fixture.logger, uniquePatientIdentifierSystems: ["urn:health-hub:sid:resident-id"],
                identifierConflicts: conflicts)
            try await TestDatabase.execute(fixture.url, "INSERT INTO organizations (id, name, kind) VALUES ('hospital-a', '甲医院', 'hospital')")
            try await TestDatabase.execute(
                fixture.url,
                """
                INSERT INTO principals (id, kind, role, organization_id, name, scopes)
                VALUES ('hospital-a-his', 'client', 'system', 'hospital-a', 'HIS', '{system/*.*}')
                """)
            try await body(
                World(
                    fixture: fixture, store: store, jobs: ImportJobStore(database: fixture.database, ring: ring, logger: fixture.logger),
                    validator: validator))
        }
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

    /// A runner writing three batches of two lines a claim, each prepared while the one before
    /// commits: a line sent twice in one batch is skipped, a Patient listing its resident ID twice
    /// is written, and every other line once.
    @Test func pipelinedBatchesWriteEveryLineOnce() async throws {
        try await self.withWorld { world in
            var lines = try Self.patients(seed: 52, count: 6).split(separator: UInt8(ascii: "\n")).map(Array.init)
            // Line 2 repeats line 1; the third patient lists its resident ID twice.
            lines.insert(lines[0], at: 1)
            var third = try #require(try JSONParser.parse(lines[3]).objectValue)
            third["identifier"] = .array((third["identifier"]?.elements ?? []) + [third["identifier"]?.elements.first ?? .null])
            lines[3] = JSONValue.object(third).serialized()
            let (id, _) = try await world.queue(lines.flatMap { $0 + [UInt8(ascii: "\n")] })
            #expect(try await world.progress(id, claims: 4, batchSize: 2, batchesPerClaim: 3) == [6, 7])
            let job = try await world.job(id)
            #expect(job.state == .completed)
            #expect(job.created == 6 && job.skipped == 1 && job.refused == 0, "\(job.created) \(job.skipped) \(job.refused)")
            #expect(try await world.fixture.count("SELECT count(*) FROM resources WHERE type = 'Patient'") == 6)
        }
    }

    /// Patients another hospital registered use the importing organization's attempts; once
    /// they are spent the batch is not written and the job waits, instead of refusing the rest.
    @Test func spentConflictAttemptsMakeTheJobWait() async throws {
        try await self.withWorld(conflicts: AttemptLimiter(attempts: 1, window: 3_600)) { world in
            // Hospital B registered both patients first.
            let ndjson = try Self.patients(seed: 60, count: 2)
            var registered: [String] = []
            for line in ndjson.split(separator: UInt8(ascii: "\n")) {
                var object = try #require(try JSONParser.parse(Array(line)).objectValue)
                object["id"] = nil
                let created = try await world.store.create(
                    object, type: .patient, access: RecordAccess(.organization("hospital-b")),
                    audit: AuditContext(caller: Caller(client: "hospital-b-his", organization: "hospital-b"), interaction: "create"))
                registered.append(created.id)
            }
            let (id, _) = try await world.queue(ndjson)
            let runner = world.runner(batchSize: 1, batchesPerClaim: nil)
            #expect(try await runner.runOne())
            // The first conflict is refused (and audited under the patient found); the second
            // would pass the budget: not written, and the job waits for the window.
            let job = try await world.job(id)
            #expect(job.state == .running && job.refused == 1 && job.created == 0)
            #expect(try await world.fixture.count("SELECT count(*) FROM import_jobs WHERE lease_until > now() + interval '30 minutes'") == 1)
            #expect(try await runner.runOne() == false)
            #expect(
                try await world.fixture.count("SELECT count(*) FROM audit_queue WHERE patient = '\(registered[0])' AND organization = 'hospital-a'")
                    == 1)
            #expect(
                try await world.fixture.count("SELECT count(*) FROM audit_queue WHERE patient = '\(registered[1])' AND organization = 'hospital-a'")
                    == 0)
        }
    }

    /// Stagings of one client are counted against its quota one at a time: of two that would
    /// each fit alone but not together, sent at once, exactly one is stored.
    @Test func concurrentStagingsKeepTheQuota() async throws {
        try await self.withWorld { world in
            let piece = try Self.patients(seed: 70, count: 1)
            let jobs = ImportJobStore(
                database: world.fixture.database, ring: world.fixture.ring(try CryptoSuite.sm()), logger: world.fixture.logger,
                maximumStagedBytes: piece.count * 3 / 2)
            let stored = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await jobs.stage(piece, lines: 1, principal: World.principal, organization: World.organization, lifetime: .seconds(60))
                    }
                }
                var stored: [String] = []
                for try await id in group { if let id { stored.append(id) } }
                return stored
            }
            #expect(stored.count == 1)
            #expect(try await world.fixture.count("SELECT count(*) FROM import_inputs") == 1)
            // The refused piece's key was erased: only the stored one's is live.
            #expect(try await world.fixture.count("SELECT count(*) FROM data_keys WHERE subject LIKE 'import:%' AND erased_at IS NULL") == 1)
        }
    }

    @Test func aJobResumedByAnotherRunnerWritesEveryLineOnce() async throws {
        try await self.withWorld { world in
            let (id, input) = try await world.queue(try Self.patients(seed: 50, count: 7))
            // Runners that write one batch of three lines each time they hold the job, as a hub
            // stopped after each batch would: the next one goes on from the committed cursor.
            #expect(try await world.progress(id, claims: 5, batchSize: 3, batchesPerClaim: 1) == [3, 6, 7])
            let job = try await world.job(id)
            #expect(job.state == .completed)
            #expect(job.created == 7 && job.skipped == 0 && job.refused == 0)
            // Every line once, under its namespaced id.
            let identity = ImportIdentity(organization: World.organization, key: try await world.store.importKey(organization: World.organization))
            for number in 1...7 {
                let stored = try await world.store.read(.patient, id: identity.id(.patient, "src-\(number)"))
                #expect(stored.resource?["name"] != nil)
            }
            #expect(try await world.fixture.count("SELECT count(*) FROM resources WHERE type = 'Patient'") == 7)
            // The finished job's input is gone, and its key with it.
            #expect(try await world.fixture.count("SELECT count(*) FROM import_inputs") == 0)
            #expect(try await world.fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'import:\(input)' AND erased_at IS NULL") == 0)
            #expect(try await world.fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'import:\(input)'") > 0)
            // Another organization's namespace never meets this one.
            let other = ImportIdentity(organization: "hospital-b", key: try await world.store.importKey(organization: "hospital-b"))
            #expect(other.id(.patient, "src-1") != identity.id(.patient, "src-1"))

            // A job of a client deactivated meanwhile writes nothing more and fails, saying why.
            let (later, _) = try await world.queue(try Self.patients(seed: 51, count: 2))
            try await TestDatabase.execute(world.fixture.url, "UPDATE principals SET active = false WHERE id = 'hospital-a-his'")
            #expect(try await world.runner(batchSize: 3, batchesPerClaim: 1).runOne())
            let stopped = try await world.job(later)
            #expect(stopped.state == .failed && stopped.created == 0)
            #expect(stopped.error?.contains("deactivated") == true)
        }
    }
}
