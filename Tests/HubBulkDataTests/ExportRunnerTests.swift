import Foundation
import HubAudit
import HubBulkData
import HubBulkDataCore
import HubCrypto
import HubFHIR
import HubKeys
import HubResources
import HubSynthetic
import HubTestSupport
import Testing

/// Export jobs against a real PostgreSQL: what a job holds (each resource as it was at the
/// transaction time, only what the asking organization may see), a runner that dies mid-job,
/// and erasure.
@Suite struct ExportRunnerTests {
    struct World: Sendable {
        let fixture: KeysFixture
        let ring: DataKeyRing
        let store: PostgresResourceStore
        let jobs: ExportJobStore

        func runner(pageSize: Int = 1_000, fileSize: Int = 50_000) -> ExportRunner {
            var settings = ExportRunner.Settings(
                pollInterval: .milliseconds(50), lease: .seconds(30), fileLifetime: .seconds(3_600), settleDelay: .zero)
            settings.settleLimit = .seconds(10)
            settings.pageSize = pageSize
            settings.fileSize = fileSize
            return ExportRunner(jobs: self.jobs, store: self.store, settings: settings, logger: self.fixture.logger)
        }

        /// Runs the due job. A job waits until every transaction open when it was queued has ended —
        /// in the whole cluster, where other tests migrate their databases — so it may take a while.
        func run(pageSize: Int = 1_000, fileSize: Int = 50_000) async throws {
            let runner = self.runner(pageSize: pageSize, fileSize: fileSize)
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if try await runner.runOne() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("no export job became due")
        }

        /// Takes the due job as a runner named `owner` would, without running it (bounded: a
        /// minute, as ``run(pageSize:fileSize:)``).
        func claim(owner: String, lease: Duration) async throws -> ExportJobStore.Job {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if let job = try await self.jobs.claim(owner: owner, lease: lease, settleDelay: .zero, settleLimit: .seconds(10)) { return job }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw ExportTestFailure(description: "no export job became due")
        }

        static func access(_ organization: String) -> RecordAccess { RecordAccess(.organization(organization)) }

        func audit(_ organization: String) -> AuditContext {
            AuditContext(caller: Caller(client: "\(organization)-his", organization: organization), interaction: "create")
        }

        /// A patient of `organization` with one lab result per test; returns their ids.
        func patient(_ seed: UInt64, of organization: String, tests: [LabTest] = [LabTest.common[0]]) async throws -> (String, [String]) {
            var synthetic = SyntheticPatients(seed: seed)
            let patient = try await self.store.create(
                try Self.object(synthetic.patientJSON()), type: .patient, access: Self.access(organization), audit: self.audit(organization))
            var observations: [String] = []
            for test in tests {
                let json = synthetic.observationJSON(test: test, patient: "Patient/\(patient.id)", day: "2026-11-20")
                observations.append(
                    try await self.store.create(
                        try Self.object(json), type: .observation, access: Self.access(organization), audit: self.audit(organization)
                    ).id)
            }
            return (patient.id, observations)
        }

        func kickOff(_ query: String, level: ExportRequest.Level = .system, organization: String = "hospital-a") async throws -> String {
            let request = try ExportRequest(level: level, query: query, readable: nil)
            let description = ExportJobDescription(
                request: request, requestURL: "https://hub.test/fhir/$export?\(query)",
                caller: Caller(client: "\(organization)-his", organization: organization), readableTypes: nil)
            let queued = try await self.jobs.kickOff(description, principal: "\(organization)-his", organization: organization)
            return try #require(queued).id
        }

        /// Every file of a finished job: type → the resources in file order.
        func output(_ id: String, organization: String = "hospital-a") async throws -> [ResourceType: [JSONObject]] {
            let job = try #require(try await self.jobs.job(id, principal: "\(organization)-his", organization: organization))
            #expect(job.state == .completed)
            var output: [ResourceType: [JSONObject]] = [:]
            for file in try await self.jobs.files(of: job) {
                var lines = 0
                for (part, _) in try await self.jobs.parts(of: job, file: file) {
                    let text = String(decoding: try await self.jobs.body(of: job, file: file, part: part), as: UTF8.self)
                    for line in text.split(separator: "\n") {
                        output[file.type, default: []].append(try #require(try JSONParser.parse(Array(line.utf8)).objectValue))
                        lines += 1
                    }
                }
                #expect(lines == file.count)
            }
            return output
        }

        static func object(_ json: String) throws -> JSONObject {
            try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
        }
    }

    func withWorld(_ body: @escaping @Sendable (World) async throws -> Void) async throws {
        try await KeysFixture.with { fixture in
            let ring = fixture.ring(try CryptoSuite.sm())
            let store = PostgresResourceStore(database: fixture.database, ring: ring, logger: fixture.logger)
            try await body(
                World(
                    fixture: fixture, ring: ring, store: store, jobs: ExportJobStore(database: fixture.database, ring: ring, logger: fixture.logger)))
        }
    }

    static func ids(_ resources: [JSONObject]?) -> [String] {
        (resources ?? []).compactMap { $0["id"]?.stringValue }
    }

    @Test func aJobHoldsEachResourceAsItWasAtItsTransactionTimeAndOnlyWhatItsOrganizationSees() async throws {
        try await self.withWorld { world in
            let (patient, observations) = try await world.patient(1, of: "hospital-a", tests: Array(LabTest.common.prefix(3)))
            let (otherPatient, otherObservations) = try await world.patient(2, of: "hospital-b")
            let job = try await world.kickOff("_type=Patient,Observation")
            // After the transaction time: a new version, a deletion, a new record.
            var changed = try await world.store.read(.observation, id: observations[0])
            changed.resource?["status"] = .string("amended")
            _ = try await world.store.update(
                try #require(changed.resource), type: .observation, id: observations[0], ifMatch: 1, access: World.access("hospital-a"),
                audit: world.audit("hospital-a"))
            _ = try await world.store.delete(.observation, id: observations[1], access: World.access("hospital-a"), audit: world.audit("hospital-a"))
            let (laterPatient, laterObservations) = try await world.patient(3, of: "hospital-a")

            try await world.run()
            let output = try await world.output(job)
            #expect(Self.ids(output[.patient]) == [patient])
            #expect(Self.ids(output[.observation]) == observations.sorted())
            let first = try #require(output[.observation]?.first { $0["id"]?.stringValue == observations[0] })
            #expect(first["status"] == .string("final") && first["meta"]?.objectValue?["versionId"] == .string("1"))
            for absent in [otherPatient, laterPatient] + otherObservations + laterObservations {
                #expect(!output.values.joined().contains { $0["id"]?.stringValue == absent })
            }
            // Every resource that left is in the audit trail, under its patient: one record per page
            // (the Patients', the Observations').
            #expect(try await world.fixture.count("SELECT count(*) FROM audit_queue WHERE patient = '\(patient)' AND action = 'R'") == 2)
            #expect(try await world.fixture.count("SELECT count(*) FROM audit_queue WHERE patient = '\(otherPatient)' AND action = 'R'") == 0)
            // The NDJSON is sealed at rest.
            let bodies = try await TestDatabase.strings(world.fixture.url, "SELECT encode(body, 'escape') FROM export_parts")
            #expect(!bodies.isEmpty && !bodies.contains { $0.contains(patient) || $0.contains("loinc") })

            // `_since` (strictly after) and `_typeFilter` (one of its queries), Patient level.
            let since = try await world.store.read(.observation, id: observations[0]).lastUpdated
            let sinceText = UTCTime(since.addingTimeInterval(-0.001)).instant.replacingOccurrences(of: "+", with: "%2B")
            let later = try await world.kickOff("_type=Observation&_since=\(sinceText)", level: .patient)
            try await world.run()
            #expect(Set(Self.ids(try await world.output(later)[.observation])) == Set([observations[0]] + laterObservations))
            #expect(try await world.jobs.delete(later, principal: "hospital-a-his", organization: "hospital-a"))
            let filtered = try await world.kickOff(
                "_typeFilter=Observation%3Fcode%3Dhttp%3A%2F%2Floinc.org%7C\(LabTest.common[2].loinc),Patient%3Fgender%3Dunknown", level: .patient)
            try await world.run()
            let filteredOutput = try await world.output(filtered)
            #expect(Self.ids(filteredOutput[.observation]) == [observations[2]])
            #expect(filteredOutput[.patient] == nil && filteredOutput[.condition] == nil)
        }
    }

    @Test func erasedPatientsRecordsNeverLeave() async throws {
        try await self.withWorld { world in
            let erasure = RecordErasure(database: world.fixture.database, ring: world.ring, logger: world.fixture.logger)
            let (erased, erasedResults) = try await world.patient(30, of: "hospital-a", tests: Array(LabTest.common.prefix(2)))
            let (kept, keptResults) = try await world.patient(31, of: "hospital-a")
            _ = try await erasure.erase(subject: "Patient/\(erased)")
            // The writing organization still sees the erased records' rows: the export skips them.
            let job = try await world.kickOff("_type=Patient,Observation")
            try await world.run(pageSize: 1)
            let output = try await world.output(job)
            #expect(Self.ids(output[.patient]) == [kept] && Self.ids(output[.observation]) == keptResults)
            #expect(!output.values.joined().contains { ([erased] + erasedResults).contains($0["id"]?.stringValue ?? "") })
            #expect(try await world.jobs.delete(job, principal: "hospital-a-his", organization: "hospital-a"))

            // Erased between the read of a page and its commit: the page is refused.
            let (late, _) = try await world.patient(32, of: "hospital-a")
            _ = try await world.kickOff("_type=Patient")
            let slow = try await world.claim(owner: "slow", lease: .seconds(30))
            let read = try await world.store.exportPage(
                .patient, asOf: slow.transactionTime, since: nil, patients: .all, filters: [], afterID: nil, count: 10,
                access: try #require(slow.description.access))
            #expect(Set(read.resources.map(\.id)) == [kept, late])
            _ = try await erasure.erase(subject: "Patient/\(late)")
            let bytes = read.resources.map { JSONValue.object($0.resource!).serialized() + [0x0A] }.joined()
            let page = ExportPage(type: .patient, ndjson: Array(bytes), count: read.resources.count, patients: read.resources.compactMap(\.patientID))
            let to = ExportPlan(types: [.patient]).advance(slow.cursor, read: read.examined, lastID: read.lastID)
            #expect(
                try await world.jobs.commitPage(of: slow, owner: "slow", lease: .seconds(30), from: slow.cursor, to: to, page: page, audit: [])
                    == .patientErased)
            #expect(try await world.fixture.count("SELECT count(*) FROM export_parts") == 0)
        }
    }

    @Test func aPopulationGrantRevokedMidExportEndsIt() async throws {
        try await self.withWorld { world in
            let (first, _) = try await world.patient(50, of: "hospital-a")
            let (second, _) = try await world.patient(51, of: "hospital-b")
            let grant = UUID().uuidString.lowercased()
            try await TestDatabase.run(
                world.fixture.url,
                [
                    "INSERT INTO organizations (id, name, kind) VALUES ('data-center', '市健康医疗大数据中心', 'other')",
                    """
                    INSERT INTO population_export_grants (id, organization_id, clients, purpose, basis, granted_by, approved_by, period)
                    VALUES ('\(grant)', 'data-center', '{data-center-his}', 'PUBHLTH', '市卫健委〔2026〕12号', 'test-admin', 'second-admin',
                            tstzrange(now() - interval '1 hour', now() + interval '1 day'))
                    """,
                ])
            let request = try ExportRequest(level: .system, query: "_type=Patient", readable: nil)
            let description = ExportJobDescription(
                request: request, requestURL: "https://hub.test/fhir/$export?_type=Patient",
                caller: Caller(client: "data-center-his", organization: "data-center", purposeOfUse: "PUBHLTH"), readableTypes: nil,
                populationGrant: grant)
            _ = try #require(try await world.jobs.kickOff(description, principal: "data-center-his", organization: "data-center"))
            let job = try await world.claim(owner: "slow", lease: .seconds(30))
            // Under the grant: both hospitals' patients.
            let read = try await world.store.exportPage(
                .patient, asOf: job.transactionTime, since: nil, patients: .all, filters: [], afterID: nil, count: 10,
                access: try #require(job.description.access))
            #expect(Set(read.resources.map(\.id)) == [first, second])
            await #expect(throws: ResourceError.self) {
                try await world.store.create(
                    try World.object(#"{"resourceType":"Organization","name":"x"}"#), type: .organization,
                    access: try #require(job.description.access),
                    audit: world.audit("data-center"))
            }
            try await TestDatabase.execute(world.fixture.url, "UPDATE population_export_grants SET revoked_at = now()")
            let bytes = read.resources.map { JSONValue.object($0.resource!).serialized() + [0x0A] }.joined()
            let page = ExportPage(type: .patient, ndjson: Array(bytes), count: read.resources.count, patients: read.resources.compactMap(\.patientID))
            let to = ExportPlan(types: [.patient]).advance(job.cursor, read: read.examined, lastID: read.lastID)
            #expect(
                try await world.jobs.commitPage(of: job, owner: "slow", lease: .seconds(30), from: job.cursor, to: to, page: page, audit: [])
                    == .grantEnded)
            // And the visible relation itself holds nothing once the grant is gone.
            let after = try await world.store.exportPage(
                .patient, asOf: job.transactionTime, since: nil, patients: .all, filters: [], afterID: nil, count: 10,
                access: try #require(job.description.access))
            #expect(after.resources.isEmpty)
        }
    }

    @Test func aVersionFiledUnderAnotherPatientIsNotExported() async throws {
        try await self.withWorld { world in
            // Hospital A files a result under the wrong patient, then refiles it under the right one,
            // whom hospital B also treats; B asked for its export between the two.
            let (wrong, results) = try await world.patient(40, of: "hospital-a")
            var synthetic = SyntheticPatients(seed: 41)
            let right = try await world.store.create(
                try World.object(synthetic.patientJSON()), type: .patient, access: World.access("hospital-b"), audit: world.audit("hospital-b")
            ).id
            try await world.store.register(patientID: right, access: World.access("hospital-a"))
            let job = try await world.kickOff("_type=Observation", organization: "hospital-b")
            var refiled = try #require(try await world.store.read(.observation, id: results[0]).resource)
            refiled["subject"] = .object(JSONObject([("reference", .string("Patient/\(right)"))]))
            _ = try await world.store.update(
                refiled, type: .observation, id: results[0], ifMatch: 1, access: World.access("hospital-a"), audit: world.audit("hospital-a"))
            #expect(try await world.store.read(.observation, id: results[0], access: World.access("hospital-b")).versionID == 2)

            try await world.run()
            // As at the kick-off the result was the wrong patient's, whom B does not treat.
            #expect(try await world.output(job, organization: "hospital-b")[.observation] == nil)
            _ = wrong
        }
    }

    @Test func aJobResumedAfterItsRunnerDiedWritesEveryResourceOnce() async throws {
        try await self.withWorld { world in
            var patients: [String] = []
            var observations: [String] = []
            for seed in 10..<17 {
                let (patient, results) = try await world.patient(UInt64(seed), of: "hospital-a")
                patients.append(patient)
                observations += results
            }
            let id = try await world.kickOff("_type=Patient,Observation")
            // A runner takes the job, commits one page, and dies holding a five-second lease.
            let dead = try await world.claim(owner: "dead", lease: .seconds(5))
            let plan = ExportPlan(types: dead.description.request.types, pageSize: 3, fileSize: 5)
            guard case .read(let type, let afterID, let count, _, _) = plan.step(at: dead.cursor) else {
                Issue.record("the plan had nothing to read")
                return
            }
            let read = try await world.store.exportPage(
                type, asOf: dead.transactionTime, since: nil, patients: .all, filters: [], afterID: afterID, count: count,
                access: try #require(dead.description.access))
            let page = read.resources
            let next = plan.advance(dead.cursor, read: read.examined, lastID: read.lastID)
            let ndjson = page.map { JSONValue.object($0.resource!).serialized() + [0x0A] }.joined()
            let written = ExportPage(type: type, ndjson: Array(ndjson), count: page.count, patients: page.compactMap(\.patientID))
            #expect(
                try await world.jobs.commitPage(of: dead, owner: "dead", lease: .seconds(5), from: dead.cursor, to: next, page: written, audit: [])
                    == .committed)
            // Nobody takes a job whose lease holds.
            #expect(try await world.runner().runOne() == false)

            try await world.run(pageSize: 3, fileSize: 5)
            // The dead runner wakes up and commits its next page: refused, nothing written.
            #expect(
                try await world.jobs.commitPage(of: dead, owner: "dead", lease: .seconds(1), from: next, to: next, page: written, audit: [])
                    == .leaseLost)

            let output = try await world.output(id)
            #expect(Self.ids(output[.patient]) == patients.sorted())
            #expect(Self.ids(output[.observation]) == observations.sorted())
            let job = try #require(try await world.jobs.job(id, principal: "hospital-a-his", organization: "hospital-a"))
            #expect(job.attempts == 2 && job.exported == 14)
            // Files of at most five: 7 patients in two files, 7 results in two.
            #expect(
                try await world.jobs.files(of: job).map(\.name) == [
                    "Patient-1.ndjson", "Patient-2.ndjson", "Observation-1.ndjson", "Observation-2.ndjson",
                ])
            #expect(try await world.jobs.files(of: job).map(\.count) == [5, 2, 5, 2])
        }
    }

    @Test func oneJobAtATimePerClientAndDeletionErasesItsKey() async throws {
        try await self.withWorld { world in
            let (patient, _) = try await world.patient(20, of: "hospital-a")
            let id = try await world.kickOff("")
            let request = try ExportRequest(level: .system, query: "", readable: nil)
            let second = ExportJobDescription(
                request: request, requestURL: "https://hub.test/fhir/$export", caller: Caller(client: "hospital-a-his", organization: "hospital-a"),
                readableTypes: nil)
            #expect(try await world.jobs.kickOff(second, principal: "hospital-a-his", organization: "hospital-a") == nil)
            // Another client's job is not this one's: not found, not deleted.
            #expect(try await world.jobs.job(id, principal: "hospital-b-his", organization: "hospital-b") == nil)
            #expect(try await world.jobs.delete(id, principal: "hospital-b-his", organization: "hospital-b") == false)
            #expect(try await world.jobs.job("not-a-uuid", principal: "hospital-a-his", organization: "hospital-a") == nil)

            try await world.run()
            #expect(try await world.output(id)[.patient]?.count == 1)
            #expect(try await world.jobs.delete(id, principal: "hospital-a-his", organization: "hospital-a"))
            #expect(try await world.fixture.count("SELECT count(*) FROM export_parts") == 0)
            #expect(try await world.fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'export:\(id)' AND wrapped IS NOT NULL") == 0)

            // Erasing a patient deletes every export that holds their records, key and all.
            let held = try await world.kickOff("_type=Patient")
            try await world.run()
            let report = try await RecordErasure(database: world.fixture.database, ring: world.ring, logger: world.fixture.logger)
                .erase(subject: "Patient/\(patient)")
            #expect(report.exports == 1)
            #expect(try await world.jobs.job(held, principal: "hospital-a-his", organization: "hospital-a") == nil)
            #expect(try await world.fixture.count("SELECT count(*) FROM data_keys WHERE subject = 'export:\(held)' AND wrapped IS NOT NULL") == 0)
        }
    }
}

struct ExportTestFailure: Error, CustomStringConvertible {
    var description: String
}
