import Foundation

/// k-anonymity by generalization and suppression, and Laplace noise for aggregates: what turns a
/// ``RecordTable`` into a publishable ``AnonymizedTable``.
///
/// Classes are counted in **distinct patients**, never rows: ten lab results of one person are one
/// person. An aggregate's cell is a class of all its dimensions; an extract's class is its rows'
/// quasi-identifiers (an attacker knows a person's age, sex, place and when they were seen, not
/// their diagnosis).
///
/// Without noise, generalization follows Datafly (Sweeney 2002): while the patients in classes
/// smaller than k exceed `maximumSuppression` of all, the quasi-identifier with the most distinct
/// values climbs one level; then every class still smaller than k is suppressed. With noise the
/// levels stay the finest (a search over the true counts would leak them) and a cell is
/// suppressed when its noisy count is below k.
public struct Anonymizer: Sendable {
    public var k: Int
    /// The share (0–1) of patient-class memberships that may be suppressed before generalizing.
    public var maximumSuppression: Double

    public init(k: Int, maximumSuppression: Double) {
        self.k = max(1, k)
        self.maximumSuppression = maximumSuppression
    }

    /// The most cells an aggregate lists: its dimensions' values combined.
    public static let maximumCells = 1_000_000
    /// δ of a differentially private aggregate whose dimensions' values come from the data: at
    /// most the chance that any value held by one patient is named.
    public static let delta = 1e-6

    /// Counts of distinct patients for **every** combination of the dimensions' values — each
    /// counted, or suppressed when below k, zero included — so that which cells appear, and which
    /// are suppressed, says nothing about who is in the records. Values known before the data
    /// (age bands, sexes, ICD-10 chapters, the months of a stated period) are all listed; those
    /// only the data knows (places, lab tests) are listed when at least k patients have them,
    /// and the rest count together as `other`. `months` is the definition's period.
    public func aggregate(_ table: RecordTable, months: ClosedRange<String>? = nil) throws(AnonymizationError) -> AnonymizedTable {
        let levels = try self.generalizationLevels(table, classColumns: Array(table.dimensions.indices))
        var unused = SystemRandomNumberGenerator()
        return try self.grid(table, levels: levels, months: months, noise: nil, contributionBound: 0, using: &unused)
    }

    /// The same with differential privacy: ε (the mechanism's) is shared between the choice of
    /// the data's values to name (a noisy count per value, against a threshold raised for δ) and
    /// the cells' counts; each patient counts in at most `contributionBound` cells (chosen at
    /// random among theirs), every cell's count gets Laplace noise and is suppressed when the
    /// noisy count is below k. Levels stay the finest: a search over true counts would leak them.
    public func aggregate(
        _ table: RecordTable, months: ClosedRange<String>? = nil, noise: LaplaceMechanism, contributionBound: Int,
        using generator: inout some RandomNumberGenerator
    ) throws(AnonymizationError) -> AnonymizedTable {
        try self.grid(
            table, levels: Array(repeating: 0, count: table.dimensions.count), months: months, noise: noise,
            contributionBound: max(1, contributionBound),
            using: &generator)
    }

    private func grid(
        _ table: RecordTable, levels: [Int], months: ClosedRange<String>?, noise: LaplaceMechanism?, contributionBound: Int,
        using generator: inout some RandomNumberGenerator
    ) throws(AnonymizationError) -> AnonymizedTable {
        let columns = Array(table.dimensions.indices)
        let keyed = try KeyedRows(table, levels: levels, columns: columns)
        let pairs = noise == nil ? keyed.pairs() : keyed.pairs(contributionBound: contributionBound, using: &generator)
        let publicDomains = columns.map { table.dimensions[$0].publicDomain(at: levels[$0], months: months) }
        // ε shared evenly between the data-named dimensions' values and the cells.
        let shares = Double(publicDomains.filter { $0 == nil }.count + 1)
        let mechanism = noise.flatMap { LaplaceMechanism(epsilon: $0.epsilon / shares, sensitivity: Double(contributionBound)) }
        var result = AnonymizedTable(dimensions: table.dimensions, levels: levels)
        result.noiseScale = mechanism?.scale
        result.delta = mechanism != nil && shares > 1 ? Self.delta : nil
        // Per column: each generalized value's place in the column's listed values.
        var domains: [[String]] = []
        var places: [[Int]] = []
        for column in columns {
            let values = keyed.generalizedValues[column]
            var domain: [String]
            if let known = publicDomains[column] {
                domain = known
            } else {
                // Named when enough patients have it (a noisy count, against a raised threshold).
                // Candidates are the values some patient still holds after the bound; each patient
                // holds at most `contributionBound` of a column's values, in each of the
                // data-named columns: the threshold covers them all within δ.
                let counts = keyed.marginal(pairs, column: column)
                let named = max(1, shares - 1) * Double(contributionBound)
                var threshold = Double(self.k)
                if let mechanism { threshold += mechanism.scale * log(named / (2 * Self.delta)) }
                domain = values.indices.filter { value in
                    let count = counts[value]
                    // A value spelled like a reserved one counts as "other".
                    guard count > 0, values[value] != Dimension.other, values[value] != Dimension.any else { return false }
                    guard let mechanism else { return count >= self.k }
                    return Double(count) + mechanism.noise(using: &generator) >= threshold
                }.map { values[$0] }.sorted()
                domain.append(Dimension.other)
            }
            let index = Dictionary(domain.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            if publicDomains[column] != nil, let missing = values.first(where: { index[$0] == nil }) {
                // A value outside what could be known before the data: listing it would say someone has it.
                throw AnonymizationError("\(missing) is not a value \(table.dimensions[column].rawValue) can show")
            }
            let other = domain.firstIndex(of: Dimension.other) ?? 0
            places.append(values.map { index[$0] ?? other })
            domains.append(domain)
        }
        var size = 1
        for domain in domains {
            let (product, overflow) = size.multipliedReportingOverflow(by: max(1, domain.count))
            guard !overflow, product <= Self.maximumCells else {
                throw AnonymizationError(
                    "the dimensions' values combine into more than \(Self.maximumCells) cells: use fewer dimensions, or a shorter period")
            }
            size = product
        }
        // Distinct patients per cell.
        var cellPairs: [KeyedRows.Pair] = pairs.map { pair in
            let numbers = keyed.numbers(of: pair.key)
            var cell = 0
            for column in columns { cell = cell * max(1, domains[column].count) + places[column][numbers[column]] }
            return KeyedRows.Pair(key: UInt64(cell), patient: pair.patient)
        }
        cellPairs.sort()
        var counts: [Int: Int] = [:]
        for group in KeyedRows.count(cellPairs) { counts[Int(group.key)] = group.patients }
        for cell in 0..<size {
            var rest = cell
            var values = Array(repeating: "", count: columns.count)
            for column in columns.reversed() {
                let radix = max(1, domains[column].count)
                values[column] = domains[column][rest % radix]
                rest /= radix
            }
            let count = counts[cell] ?? 0
            let shown = mechanism.map { $0.noisyCount(count, using: &generator) } ?? count
            result.rows.append(values)
            if shown >= self.k {
                result.counts.append(shown)
            } else {
                result.counts.append(nil)
                result.suppressedCells += 1
            }
        }
        return result
    }

    /// The table's rows, generalized so that each class of quasi-identifiers holds at least k
    /// patients; the rows of smaller classes are left out (and counted).
    public func extract(_ table: RecordTable) throws(AnonymizationError) -> AnonymizedTable {
        let classColumns = table.dimensions.indices.filter { table.dimensions[$0].isQuasiIdentifier }
        let levels = try self.generalizationLevels(table, classColumns: classColumns)
        let classes = try KeyedRows(table, levels: levels, columns: classColumns)
        let large = Set(classes.groups().filter { $0.patients >= self.k }.map(\.key))
        let generalized = (0..<table.dimensions.count).map { column in
            table.values[column].map { table.dimensions[column].generalize($0, to: levels[column]) }
        }
        // What an extract is about (a lab test) is named only when k patients have it, as in an
        // aggregate: a test only one patient had would point at them within their class.
        var shown = generalized
        for column in table.dimensions.indices where !table.dimensions[column].isQuasiIdentifier {
            guard table.dimensions[column].publicDomain(at: 0) == nil else { continue }
            let keyed = try KeyedRows(table, levels: levels, columns: [column])
            let counts = keyed.marginal(keyed.pairs(), column: column)
            shown[column] = table.values[column].indices.map { finest in
                let number = keyed.generalizedNumber[column][finest]
                let value = keyed.generalizedValues[column][number]
                return counts[number] >= self.k && value != Dimension.other ? value : Dimension.other
            }
        }
        var result = AnonymizedTable(dimensions: table.dimensions, levels: levels)
        for row in 0..<table.count {
            guard large.contains(classes.key(of: row)) else {
                result.suppressedRows += 1
                continue
            }
            result.rows.append((0..<table.dimensions.count).map { shown[$0][Int(table.value(row, $0))] })
        }
        result.sortRows()
        return result
    }

    /// Datafly's levels for `table` with classes over `classColumns`.
    func generalizationLevels(_ table: RecordTable, classColumns: [Int]) throws(AnonymizationError) -> [Int] {
        var levels = Array(repeating: 0, count: table.dimensions.count)
        while true {
            let keys = try KeyedRows(table, levels: levels, columns: classColumns)
            var total = 0
            var suppressed = 0
            for group in keys.groups() {
                total += group.patients
                if group.patients < self.k { suppressed += group.patients }
            }
            if total == 0 || Double(suppressed) <= self.maximumSuppression * Double(total) { return levels }
            let climbable = classColumns.filter { column in
                table.dimensions[column].isQuasiIdentifier && levels[column] < table.dimensions[column].levels.count - 1
            }
            guard let column = climbable.max(by: { keys.distinct[$0] < keys.distinct[$1] }) else { return levels }
            levels[column] += 1
        }
    }
}

/// Why a table could not be anonymized.
public struct AnonymizationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A table's rows keyed by their generalized values in some columns: a mixed-radix number per
/// row, so that grouping is a sort.
struct KeyedRows {
    let table: RecordTable
    let columns: [Int]
    /// Per column of the table: its finest value numbers → generalized value numbers, and the
    /// generalized values (only for `columns`).
    let generalizedNumber: [[Int]]
    let generalizedValues: [[String]]
    /// Distinct generalized values per column of the table (0 outside `columns`).
    let distinct: [Int]
    let levels: [Int]
    let keys: [UInt64]

    init(_ table: RecordTable, levels: [Int], columns: [Int]) throws(AnonymizationError) {
        self.table = table
        self.columns = columns
        self.levels = levels
        var generalizedNumber: [[Int]] = Array(repeating: [], count: table.dimensions.count)
        var generalizedValues: [[String]] = Array(repeating: [], count: table.dimensions.count)
        for column in columns {
            var numbers: [String: Int] = [:]
            generalizedNumber[column] = table.values[column].map { value in
                let shown = table.dimensions[column].generalize(value, to: levels[column])
                if let number = numbers[shown] { return number }
                numbers[shown] = generalizedValues[column].count
                generalizedValues[column].append(shown)
                return generalizedValues[column].count - 1
            }
        }
        self.generalizedNumber = generalizedNumber
        self.generalizedValues = generalizedValues
        self.distinct = generalizedValues.map(\.count)
        var radix: UInt64 = 1
        for column in columns {
            let (product, overflow) = radix.multipliedReportingOverflow(by: UInt64(max(1, generalizedValues[column].count)))
            guard !overflow else { throw AnonymizationError("the dimensions have too many distinct values together to tabulate") }
            radix = product
        }
        var keys: [UInt64] = []
        keys.reserveCapacity(table.count)
        for row in 0..<table.count {
            var key: UInt64 = 0
            for column in columns {
                key = key * UInt64(max(1, generalizedValues[column].count)) + UInt64(generalizedNumber[column][Int(table.value(row, column))])
            }
            keys.append(key)
        }
        self.keys = keys
    }

    func key(of row: Int) -> UInt64 { self.keys[row] }

    struct Group {
        var key: UInt64
        var patients: Int
    }

    /// Each key with its distinct patients.
    func groups() -> [Group] {
        Self.count(self.pairs())
    }

    /// (key, patient) of every row, once each, sorted.
    func pairs() -> [Pair] {
        var pairs = zip(self.keys, self.table.patients).map { Pair(key: $0, patient: $1) }
        pairs.sort()
        var distinct: [Pair] = []
        distinct.reserveCapacity(pairs.count)
        for pair in pairs where distinct.last != pair { distinct.append(pair) }
        return distinct
    }

    /// The same, each patient in at most `contributionBound` keys (chosen at random among theirs).
    func pairs(contributionBound: Int, using generator: inout some RandomNumberGenerator) -> [Pair] {
        var byPatient = zip(self.keys, self.table.patients).map { Pair(key: $0, patient: $1) }
        byPatient.sort { ($0.patient, $0.key) < ($1.patient, $1.key) }
        var kept: [Pair] = []
        var start = 0
        while start < byPatient.count {
            var end = start
            var mine: [Pair] = []
            while end < byPatient.count, byPatient[end].patient == byPatient[start].patient {
                if mine.last?.key != byPatient[end].key { mine.append(byPatient[end]) }
                end += 1
            }
            if mine.count > contributionBound { mine.shuffle(using: &generator) }
            kept.append(contentsOf: mine.prefix(contributionBound))
            start = end
        }
        kept.sort()
        return kept
    }

    /// Each keyed column's generalized value numbers for `key`.
    func numbers(of key: UInt64) -> [Int] {
        var numbers = Array(repeating: 0, count: self.table.dimensions.count)
        var rest = key
        for column in self.columns.reversed() {
            let radix = UInt64(max(1, self.generalizedValues[column].count))
            numbers[column] = Int(rest % radix)
            rest /= radix
        }
        return numbers
    }

    /// Distinct patients per generalized value of `column` among `pairs`.
    func marginal(_ pairs: [Pair], column: Int) -> [Int] {
        var values = pairs.map { Pair(key: UInt64(self.numbers(of: $0.key)[column]), patient: $0.patient) }
        values.sort()
        var counts = Array(repeating: 0, count: self.generalizedValues[column].count)
        for group in Self.count(values) { counts[Int(group.key)] = group.patients }
        return counts
    }

    /// Groups of sorted pairs: each key with its distinct patients.
    static func count(_ sorted: [Pair]) -> [Group] {
        var groups: [Group] = []
        var previous: Pair?
        for pair in sorted {
            if pair.key != previous?.key {
                groups.append(Group(key: pair.key, patients: 1))
            } else if pair.patient != previous?.patient {
                groups[groups.count - 1].patients += 1
            }
            previous = pair
        }
        return groups
    }

    struct Pair: Comparable {
        var key: UInt64
        var patient: Int32

        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.key, lhs.patient) < (rhs.key, rhs.patient) }
    }
}

/// A table ready to publish: generalized values, counts (aggregates; nil where suppressed) or
/// rows (extracts), and what was generalized and suppressed.
public struct AnonymizedTable: Sendable, Equatable {
    public var dimensions: [Dimension]
    /// The generalization level of each dimension (an index into ``Dimension/levels``).
    public var levels: [Int]
    public var rows: [[String]] = []
    /// For an aggregate, one per row: distinct patients, or nil where the cell is suppressed.
    public var counts: [Int?] = []
    public var suppressedCells = 0
    /// For an extract: rows left out with their classes.
    public var suppressedRows = 0
    /// With noise: the Laplace scale of each count, and δ when the data named values.
    public var noiseScale: Double?
    public var delta: Double?

    public init(dimensions: [Dimension], levels: [Int]) {
        self.dimensions = dimensions
        self.levels = levels
    }

    /// Rows in order of their values: the order says nothing of when records were written.
    mutating func sortRows() {
        if self.counts.isEmpty {
            self.rows.sort { $0.lexicographicallyPrecedes($1) }
        } else {
            let order = self.rows.indices.sorted { self.rows[$0].lexicographicallyPrecedes(self.rows[$1]) }
            self.rows = order.map { self.rows[$0] }
            self.counts = order.map { self.counts[$0] }
        }
    }
}
