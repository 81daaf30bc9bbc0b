import HubOpenDataCore
import HubSynthetic
import Testing

/// k-anonymity and Laplace noise, checked against the raw rows they were computed from — as an
/// attacker holding the raw quasi-identifiers of the population would check them.
@Suite struct AnonymizerTests {
    /// A seeded generator, so every failure reproduces.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

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
                #expect(truth > 0 && truth < 10)
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
        // The lone patient of another cell is suppressed however many results they have.
        rows += (0..<30).map { _ in (99, ["42", "male", "a/b/c", "2026-01", "718-7"]) }
        let result = try Anonymizer(k: 10, maximumSuppression: 1).aggregate(Self.table(rows))
        #expect(result.rows == [["40-44", "male", "a/b/c", "2026-01", "2345-7"], ["40-44", "male", "a/b/c", "2026-01", "718-7"]])
        #expect(result.counts == [10, nil])
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
        // Patient 0 is in 6 cells; with a bound of 1 they count in one.
        var rows = (0..<6).map { (0, ["42", "male", "a/b/c", "2026-0\($0 + 1)", "2345-7"]) }
        rows += (1...200).map { ($0, ["42", "male", "a/b/c", "2026-01", "2345-7"]) }
        var generator = Seeded(state: 9)
        let anonymizer = Anonymizer(k: 10, maximumSuppression: 0.05)
        let noisy = try anonymizer.aggregate(
            Self.table(rows), noise: try #require(LaplaceMechanism(epsilon: 1, sensitivity: 1)), contributionBound: 1, using: &generator)
        #expect(noisy.levels == [0, 0, 0, 0, 0], "no data-dependent generalization under noise")
        let big = try #require(noisy.rows.firstIndex(of: ["40-44", "male", "a/b/c", "2026-01", "2345-7"]))
        let count = try #require(noisy.counts[big])
        #expect(abs(count - 200) <= 15, "\(count): noise of scale 1 around 200 or 201")
        // Cells of at most one patient are (nearly surely) suppressed after the noise.
        #expect(noisy.counts.enumerated().filter { $0.offset != big }.allSatisfy { $0.element == nil })
        // Over many releases, the total patient-cells counted stays within the bound.
        var generator2 = Seeded(state: 10)
        let bounded = try anonymizer.aggregate(
            Self.table(Array(rows.prefix(6))), noise: try #require(LaplaceMechanism(epsilon: 10, sensitivity: 1)), contributionBound: 2,
            using: &generator2)
        #expect(bounded.rows.count == 2, "patient 0 counted in 2 of their 6 cells")
    }
}
