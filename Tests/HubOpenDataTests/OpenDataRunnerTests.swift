import Foundation
import HubAuditCore
import HubCrypto
import HubFHIR
import HubOpenData
import HubOpenDataCore
import HubResources
import HubResourcesCore
import HubSynthetic
import HubTestSupport
import Testing

/// Releases computed against a real PostgreSQL: what the runner reads (the records the rule sees,
/// as they stand), what it records, and a runner that lost its lease.
@Suite struct OpenDataRunnerTests {
    struct World: Sendable {
        let fixture: KeysFixture
        let store: PostgresResourceStore
        let datasets: OpenDatasetStore

        var runner: OpenDataRunner {
            OpenDataRunner(
                datasets: self.datasets, records: self.store,
                settings: .init(pollInterval: .milliseconds(50), lease: .seconds(30), maximumSuppression: 0.5), logger: self.fixture.logger)
        }

        static func regulator(_ id: String) -> AuditContext {
            AuditContext(caller: Caller(organization: "health-commission", user: id), interaction: "open-data")
        }

        /// A patient of `organization` (synthetic person `number`) with a diagnosis on `day`.
        func patient(_ number: Int, of organization: String, code: String, day: String) async throws -> String {
            var synthetic = SyntheticPatients(seed: UInt64(number + 1))
            let access = RecordAccess(.organization(organization))
            let audit = AuditContext(caller: Caller(client: "\(organization)-his", organization: organization), interaction: "create")
            let patient = try await self.store.create(
                try Self.object(synthetic.patientJSON(synthetic.person(number: number), home: true)), type: .patient, access: access, audit: audit)
            _ = try await self.store.create(
                try Self.object(synthetic.conditionJSON(patient: "Patient/\(patient.id)", code: code, display: "诊断", day: day)), type: .condition,
                access: access, audit: audit)
            return patient.id
        }

        /// Defines and approves `definition`; returns the dataset's id.
        func approved(_ definition: DatasetDefinition) async throws -> String {
            let dataset = try await self.datasets.define(definition, audit: Self.regulator("regulator-1"))
            _ = try await self.datasets.approve(dataset.id, audit: Self.regulator("regulator-2"))
            return dataset.id
        }

        static func object(_ json: String) throws -> JSONObject {
            try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
        }
    }

    func withWorld(_ body: @escaping @Sendable (World) async throws -> Void) async throws {
        try await KeysFixture.with { fixture in
            let suite = try CryptoSuite.sm()
            try await TestDatabase.execute(
                fixture.url, "INSERT INTO organizations (id, name, kind) VALUES ('health-commission', '市卫生健康委员会', 'commission')")
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(suite), logger: fixture.logger)
            let datasets = OpenDatasetStore(database: fixture.database, keyStore: fixture.keyStore, suite: suite, minimumK: 2, logger: fixture.logger)
            try await body(World(fixture: fixture, store: store, datasets: datasets))
        }
    }

    static func definition(organization: String? = nil) -> DatasetDefinition {
        DatasetDefinition(
            title: "高血压", description: "", classification: .public, subject: .conditions, form: .aggregate,
            dimensions: [.district, .diagnosisChapter],
            from: "2026-01", to: "2026-12", organization: organization, k: 2)
    }

    @Test func aReleaseCountsWhatItsDefinitionCoversAndRecordsItself() async throws {
        try await self.withWorld { world in
            for number in 0..<3 { _ = try await world.patient(number, of: "hospital-a", code: "I10", day: "2026-03-0\(number + 1)") }
            _ = try await world.patient(3, of: "hospital-b", code: "I10", day: "2026-03-09")
            _ = try await world.patient(4, of: "hospital-b", code: "I10", day: "2025-12-31")  // before the period
            _ = try await world.patient(5, of: "hospital-b", code: "K29.7", day: "2026-07-01")  // alone in its cell
            let own = try await world.approved(Self.definition(organization: "hospital-a"))
            let all = try await world.approved(Self.definition())
            #expect(try await world.runner.runOne())
            #expect(try await world.runner.runOne())
            #expect(try await world.runner.runOne() == false, "nothing more is wanted")
            // Every chapter of every named place (and "other") is listed: counted, or suppressed.
            let ownRelease = try #require(try await world.datasets.computed(own, release: 1))
            #expect(ownRelease.rows.count == 2 * 23)
            #expect(ownRelease.rows.filter { $0.last! != nil } == [["北京市/北京市/朝阳区", "IX I00-I99", "3"]])
            let allRelease = try #require(try await world.datasets.computed(all, release: 1))
            #expect(allRelease.rows.filter { $0.last! != nil } == [["北京市/北京市/朝阳区", "IX I00-I99", "4"]])
            #expect(allRelease.rows.contains(["北京市/北京市/朝阳区", "XI K00-K93", nil]))
            #expect(allRelease.protection.suppressedCells == 45 && allRelease.publishedAt == nil)
            // Each release is one audit record of the hub's, naming the dataset, no patient.
            #expect(try await world.fixture.count("SELECT count(*) FROM audit_queue WHERE client = 'hub' AND action = 'C' AND patient IS NULL") == 2)
            // Not published, not served.
            #expect(try await world.datasets.published(all, release: 1, as: .json) == nil)
            #expect(try await world.datasets.catalog().isEmpty)
            let published = try await world.datasets.publish(all, release: 1, audit: World.regulator("regulator-1"))
            #expect(published.publishedAt != nil)
            let served = try #require(try await world.datasets.published(all, release: 1, as: .csv))
            let csv = String(decoding: served.bytes, as: UTF8.self)
            #expect(csv.hasPrefix("district,diagnosis-chapter,patients\r\n") && csv.contains("\r\n北京市/北京市/朝阳区,IX I00-I99,4\r\n"))
            #expect(csv.contains("\r\n北京市/北京市/朝阳区,XI K00-K93,\r\n") && csv.split(separator: "\r\n").count == 47)
            let keys = Dictionary(
                uniqueKeysWithValues: try await world.fixture.keyStore.verifyingKeys().map { ($0.description.id.value, $0.verifyingKey) })
            try DatasetRelease.signature.verify(
                served.bytes, mediaType: DatasetRelease.signedMediaType("text/csv", subject: published.signedSubject), signature: served.signature,
                keys: keys)
            #expect(throws: DetachedSignatureError.self) {
                try DatasetRelease.signature.verify(served.bytes, mediaType: "text/csv", signature: served.signature, keys: keys)
            }
            let listed = try await world.datasets.catalog()
            #expect(listed.map(\.number) == [1])
            #expect(listed.first?.rows.isEmpty == true && listed.first?.publishedAt != nil, "the catalog lists, it does not carry the table")
        }
    }

    /// Each release of a noisy dataset draws fresh noise: publishing many would average it away,
    /// so a dataset's published releases spend at most the budget of ε together.
    @Test func noisyReleasesSpendTheDatasetsBudget() async throws {
        try await self.withWorld { world in
            for number in 0..<12 { _ = try await world.patient(number, of: "hospital-a", code: "I10", day: "2026-03-0\(number % 9 + 1)") }
            var definition = Self.definition()
            definition.epsilon = 6
            let id = try await world.approved(definition)
            #expect(try await world.runner.runOne())
            let first = try await world.datasets.publish(id, release: 1, audit: World.regulator("regulator-1"))
            // ε shared between naming the places (from the data) and the counts: each gets 3.
            #expect(first.protection.epsilon == 6 && abs((first.protection.noiseScale ?? 0) - 1.0 / 3) < 1e-9 && first.protection.delta == 1e-6)
            // A second release would spend 12 of 10: refused before it is computed (its noisy table
            // would be reviewed even unpublished).
            await #expect(throws: ResourceError.self) { _ = try await world.datasets.requestRelease(id, audit: World.regulator("regulator-1")) }
            #expect(try await world.runner.runOne() == false)
            #expect(try await world.datasets.computed(id, release: 2) == nil)
            // Nor can a definition ask for more than a hub's budget at once.
            let frugal = OpenDatasetStore(
                database: world.fixture.database, keyStore: world.fixture.keyStore, suite: try CryptoSuite.sm(), minimumK: 2, epsilonBudget: 5,
                logger: world.fixture.logger)
            await #expect(throws: ResourceError.self) { _ = try await frugal.define(definition, audit: World.regulator("regulator-1")) }
        }
    }

    @Test func nothingIsWrittenUnderTheReleaseRule() async throws {
        try await self.withWorld { world in
            var synthetic = SyntheticPatients(seed: 1)
            await #expect(throws: ResourceError.self) {
                _ = try await world.store.create(
                    try World.object(synthetic.patientJSON()), type: .patient, access: RecordAccess(.deidentifiedRelease(writtenBy: nil)),
                    audit: AuditContext(caller: Caller(client: "hub"), interaction: "create"))
            }
        }
    }

    @Test func aRunnerThatLostItsLeaseStoresNothingAndFailuresGiveUp() async throws {
        try await self.withWorld { world in
            _ = try await world.patient(0, of: "hospital-a", code: "I10", day: "2026-03-01")
            let id = try await world.approved(Self.definition())
            let claim = try #require(try await world.datasets.claim(owner: "runner-a", lease: .seconds(30)))
            #expect(try await world.datasets.claim(owner: "runner-b", lease: .seconds(30)) == nil, "leased")
            try await world.datasets.withdraw(id, audit: World.regulator("regulator-1"))
            let table = AnonymizedTable(dimensions: [.district], levels: [0])
            #expect(try await world.datasets.store(table, for: claim, recordsAsOf: Date(), patients: 0, owner: "runner-a") == nil)
            #expect(try await world.fixture.count("SELECT count(*) FROM open_releases") == 0)

            let other = try await world.approved(Self.definition())
            for attempt in 1...3 {
                let claim = try #require(try await world.datasets.claim(owner: "runner-a", lease: .milliseconds(1)))
                #expect(claim.attempts == attempt && claim.id == other)
                try await world.datasets.fail(claim, owner: "runner-a", error: "the release could not be computed", maximumAttempts: 3)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await world.datasets.claim(owner: "runner-a", lease: .seconds(30)) == nil, "given up after three attempts")
            #expect(try await world.datasets.dataset(other)?.error == "the release could not be computed")
        }
    }
}
