import HubOpenDataCore
import HubSynthetic
import HubTestSupport
import Testing

/// k-anonymity and Laplace noise, checked against the raw rows they were computed from — as an
/// attacker holding the raw quasi-identifiers of the population would check them.
@Suite struct AnonymizerTests {
    /// A seeded generator, so every failure reproduces.
    typealias Seeded = SplitMix64

    /// `people` synthetic patients with `perPatient` lab results each: (patient, finest row) for
    /// age, sex, place, month, LOINC code.
    static func population(_ people: Int, perPatient: Int = 1, seed: UInt64 = 7) -> [(Int, [String])] {
        var synthetic = SyntheticPatients(seed: seed)
        var rows: [(Int, [String])] = []
        for patient in 0..<people {
            let person = synthetic.person()
            let facts = PatientFacts(
                birth: CalendarDay(person.birthDate), sex: person.gender, place: "\(person.home.state)/\(person.home.city)/\(person.home.district)")
            for _ in 0..<perPatient {
                let day = synthetic.recentDay()
                let test = LabTest.common[synthetic.next(LabTest.common.count)]
                rows.append(
                    (
                        patient,
                        RecordProjection.row(
                            patient: facts, event: EventFacts(date: CalendarDay(day), code: test.loinc), asOf: CalendarDay(year: 2026, month: 12),
                            dimensions: [.ageBand, .sex, .district, .month, .labTest])
                    ))
            }
        }
        return rows
    }

    static func table(_ rows: [(Int, [String])], dimensions: [Dimension] = [.ageBand, .sex, .district, .month, .labTest]) -> RecordTable {
        var table = RecordTable(dimensions: dimensions)
        for (patient, row) in rows { try? table.append(patient: patient, row) }
        return table
    }

    /// Each class of `columns` (generalized at `levels`; other columns "*") with its distinct
    /// patients: what an attacker holding the raw quasi-identifiers can compute.
    static func classes(columns: [Int], levels: [Int], dimensions: [Dimension], in rows: [(Int, [String])]) -> [[String]: Set<Int>] {
        var classes: [[String]: Set<Int>] = [:]
        for (patient, row) in rows {
            let key = dimensions.indices.map { columns.contains($0) ? dimensions[$0].generalize(row[$0], to: levels[$0]) : "*" }
            classes[key, default: []].insert(patient)
        }
        return classes
    }

    @Test func everyPublishedCellHoldsKPatientsAndEverySuppressedFewer() throws {
        let rows = Self.population(3_000)
        let dimensions: [Dimension] = [.ageBand, .sex, .district, .month, .labTest]
        let result = try Anonymizer(k: 10, maximumSuppression: 0.05).aggregate(Self.table(rows))
        #expect(result.levels != [0, 0, 0, 0, 0], "the finest cells are too small: something is generalized")
        #expect(result.rows.count == result.counts.count && !result.rows.isEmpty)
        var suppressedPatients = 0
        let classes = Self.classes(columns: Array(0..<5), levels: result.levels, dimensions: dimensions, in: rows)
        for (values, count) in zip(result.rows, result.counts) {
            let truth = classes[values]?.count ?? 0
            if let count {
                #expect(count == truth && count >= 10)
            } else {
                #expect(truth < 10)
                suppressedPatients += truth
            }
        }
        #expect(result.suppressedCells == result.counts.filter { $0 == nil }.count)
        #expect(Double(suppressedPatients) <= 0.05 * 3_000, "Datafly stops once at most 5% is suppressed")
        // The counts, with the suppressed, account for every patient exactly once per cell.
        #expect(result.counts.compactMap { $0 }.reduce(0, +) + suppressedPatients == 3_000)
    }

    @Test func aCellOfTenResultsOfOnePatientIsOnePatient() throws {
        // One person with 12 results and nine others with one each in the same cell: 10 patients.
        var rows = (0..<12).map { _ in (0, ["42", "male", "a/b/c", "2026-01", "2345-7"]) }
        rows += (1...9).map { ($0, ["42", "male", "a/b/c", "2026-01", "2345-7"]) }
        // The lone patient of another test is suppressed however many results they have.
        rows += (0..<30).map { _ in (99, ["42", "male", "a/b/c", "2026-01", "718-7"]) }
        let result = try Anonymizer(k: 10, maximumSuppression: 1).aggregate(Self.table(rows))
        let counted = result.rows.indices.filter { result.counts[$0] != nil }
        #expect(counted.map { result.rows[$0] } == [["40-44", "male", "a/b/c", "2026-01", "2345-7"]])
        #expect(counted.map { result.counts[$0] } == [10])
        // A test only one patient had is not named: it is "other", and its cell suppressed.
        #expect(!result.rows.contains { $0.contains("718-7") })
        #expect(result.rows.contains(["40-44", "male", "a/b/c", "2026-01", "other"]))
        // An extract's class is the quasi-identifiers alone: 11 patients whatever their tests.
        let eleven = try Anonymizer(k: 11, maximumSuppression: 1).extract(Self.table(rows))
        #expect(eleven.rows.count == rows.count && eleven.suppressedRows == 0)
        let twelve = try Anonymizer(k: 12, maximumSuppression: 1).extract(Self.table(rows))
        #expect(twelve.rows.isEmpty && twelve.suppressedRows == rows.count)
    }

    /// The attack: the adversary knows each synthetic patient's age, sex, home and the month
    /// they had a test (the quasi-identifiers), finds the class the extract puts them in, and
    /// counts who else is in it. No class of fewer than k patients may be found.
    @Test func reidentifyingPatientsOfAnExtractFindsNoClassSmallerThanK() throws {
        let rows = Self.population(2_000, perPatient: 2, seed: 11)
        let dimensions: [Dimension] = [.ageBand, .sex, .district, .month, .labTest]
        for k in [5, 10, 25] {
            let extract = try Anonymizer(k: k, maximumSuppression: 0.05).extract(Self.table(rows))
            #expect(!extract.rows.isEmpty)
            let published = Set(extract.rows.map { Array($0.prefix(4)) })
            let classes = Self.classes(columns: Array(0..<4), levels: extract.levels, dimensions: dimensions, in: rows)
            var attacked = 0
            for (_, row) in rows {
                let known = (0..<4).map { dimensions[$0].generalize(row[$0], to: extract.levels[$0]) }
                guard published.contains(known) else { continue }  // suppressed with their class
                attacked += 1
                let candidates = classes[known + ["*"]]?.count ?? 0
                #expect(candidates >= k, "a class of \(candidates) < \(k) at \(known)")
            }
            #expect(attacked > rows.count / 2, "most patients are findable in their class, and hidden in it")
            #expect(extract.rows.count + extract.suppressedRows == rows.count)
            #expect(extract.rows.allSatisfy { !$0.contains { $0.contains("-") && $0.count == 10 } }, "no exact dates")
        }
    }

    @Test func rowsAreOrderedByValueNotByArrival() throws {
        let rows = Self.population(500, seed: 3)
        let forward = try Anonymizer(k: 5, maximumSuppression: 0.05).extract(Self.table(rows))
        let backward = try Anonymizer(k: 5, maximumSuppression: 0.05).extract(Self.table(rows.reversed()))
        #expect(forward.rows == backward.rows)
    }

    @Test func laplaceNoiseHasTheScaleItClaims() {
        #expect(LaplaceMechanism(epsilon: 0, sensitivity: 1) == nil && LaplaceMechanism(epsilon: .nan, sensitivity: 1) == nil)
        var generator = Seeded(state: 42)
        let mechanism = LaplaceMechanism(epsilon: 0.5, sensitivity: 2)!
        #expect(mechanism.scale == 4)
        let draws = (0..<20_000).map { _ in mechanism.noise(using: &generator) }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let meanAbsolute = draws.map(abs).reduce(0, +) / Double(draws.count)
        // E[X] = 0 and E|X| = b; with 20,000 draws the errors are well under these bounds.
        #expect(abs(mean) < 0.15, "\(mean)")
        #expect(abs(meanAbsolute - 4) < 0.15, "\(meanAbsolute)")
        #expect(Set(draws).count == draws.count)
        #expect((0..<100).allSatisfy { _ in mechanism.noisyCount(0, using: &generator) >= 0 })
    }

    @Test func noisyAggregatesBoundEachPatientsCellsAndSuppressBelowK() throws {
        // Six months of a stated period (values known before the data); ten patients a month, and
        // patient 0 in every month. With a bound of 2, patient 0 counts in two months only.
        var rows = (0..<6).map { (0, ["2026-0\($0 + 1)"]) }
        for month in 0..<6 { rows += (1...10).map { (month * 10 + $0, ["2026-0\(month + 1)"]) } }
        var generator = Seeded(state: 9)
        let anonymizer = Anonymizer(k: 10, maximumSuppression: 0.05)
        // A large ε, so that the noise rounds away and the counts can be checked exactly.
        let noisy = try anonymizer.aggregate(
            Self.table(rows, dimensions: [.month]), months: "2026-01"..."2026-06",
            noise: try #require(LaplaceMechanism(epsilon: 100, sensitivity: 2)),
            contributionBound: 2, using: &generator)
        #expect(noisy.rows == (1...6).map { ["2026-0\($0)"] })
        #expect(noisy.counts.compactMap { $0 }.reduce(0, +) == 62 && noisy.counts.filter { $0 == 11 }.count == 2)
        #expect(noisy.levels == [0] && noisy.noiseScale == 0.02 && noisy.delta == nil, "no data-named values: no δ")

        // Noise of scale 0.1: a cell of one patient is (all but surely) suppressed, one of 200 is not.
        var few = (1...200).map { ($0, ["42", "male", "a/b/c", "2345-7"]) }
        few.append((0, ["42", "female", "a/b/c", "2345-7"]))
        let dimensions: [Dimension] = [.ageBand, .sex, .district, .labTest]
        var generator2 = Seeded(state: 10)
        let suppressed = try anonymizer.aggregate(
            Self.table(few, dimensions: dimensions), noise: try #require(LaplaceMechanism(epsilon: 30, sensitivity: 1)), contributionBound: 1,
            using: &generator2)
        let counted = suppressed.rows.indices.filter { suppressed.counts[$0] != nil }
        #expect(counted.map { suppressed.rows[$0] } == [["40-44", "male", "a/b/c", "2345-7"]])
        #expect(abs((suppressed.counts[counted[0]] ?? 0) - 200) <= 2)
        #expect(suppressed.delta == Anonymizer.delta, "places and tests were named from the data")
    }

    /// An extract names a lab test only when k patients had it: a test only one patient had would
    /// point at them within their class.
    @Test func anExtractNamesOnlyTestsKPatientsHad() throws {
        var rows = (1...11).map { ($0, ["2026-01", "2345-7"]) }
        rows.append((0, ["2026-01", "99999-9"]))
        let extract = try Anonymizer(k: 10, maximumSuppression: 0.05).extract(Self.table(rows, dimensions: [.month, .labTest]))
        #expect(extract.rows.count == 12 && extract.suppressedRows == 0)
        #expect(!extract.rows.contains { $0.contains("99999-9") } && extract.rows.contains(["2026-01", "other"]))
    }

    /// Which cells are listed, and which suppressed, says nothing about who is in the records: a
    /// cell of no one and a cell of one person look alike, and a value only one person has is
    /// never named.
    @Test func suppressionDoesNotRevealThatSomeoneIsThere() throws {
        var rows = (1...30).map { ($0, ["42", "male", "a/b/c"]) }
        rows.append((0, ["37", "female", "幸福路12号 张三"]))
        let result = try Anonymizer(k: 10, maximumSuppression: 1).aggregate(Self.table(rows, dimensions: [.ageBand, .sex, .district]))
        // Every age band and sex is listed, with the named place and "other".
        #expect(result.rows.count == 20 * 4 * 2)
        #expect(!result.rows.contains { $0.contains("幸福路12号 张三") })
        let alone = try #require(result.rows.firstIndex(of: ["35-39", "female", "other"]))
        let nobody = try #require(result.rows.firstIndex(of: ["35-39", "male", "other"]))
        #expect(result.counts[alone] == nil && result.counts[nobody] == nil)
        #expect(result.counts.compactMap { $0 } == [30])
    }
}
