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

    /// Counts of distinct patients per combination of the table's dimensions.
    public func aggregate(_ table: RecordTable) throws(AnonymizationError) -> AnonymizedTable {
        let levels = try self.generalizationLevels(table, classColumns: Array(table.dimensions.indices))
        let keys = try KeyedRows(table, levels: levels, columns: Array(table.dimensions.indices))
        var result = AnonymizedTable(dimensions: table.dimensions, levels: levels)
        for group in keys.groups() {
            let values = keys.values(of: group.key)
            if group.patients >= self.k {
                result.rows.append(values)
                result.counts.append(group.patients)
            } else {
                result.rows.append(values)
                result.counts.append(nil)
                result.suppressedCells += 1
            }
        }
        result.sortRows()
        return result
    }

    /// Counts with Laplace noise of scale `contributionBound / epsilon` (each patient counted in
    /// at most `contributionBound` cells, chosen at random), suppressed below k after the noise.
    public func aggregate(
        _ table: RecordTable, noise: LaplaceMechanism, contributionBound: Int, using generator: inout some RandomNumberGenerator
    ) throws(AnonymizationError) -> AnonymizedTable {
        let levels = Array(repeating: 0, count: table.dimensions.count)
        let keys = try KeyedRows(table, levels: levels, columns: Array(table.dimensions.indices))
        var result = AnonymizedTable(dimensions: table.dimensions, levels: levels)
        for group in keys.groups(contributionBound: contributionBound, using: &generator) {
            result.rows.append(keys.values(of: group.key))
            let noisy = noise.noisyCount(group.patients, using: &generator)
            if noisy >= self.k {
                result.counts.append(noisy)
            } else {
                result.counts.append(nil)
                result.suppressedCells += 1
            }
        }
        result.sortRows()
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
        var result = AnonymizedTable(dimensions: table.dimensions, levels: levels)
        for row in 0..<table.count {
            guard large.contains(classes.key(of: row)) else {
                result.suppressedRows += 1
                continue
            }
            result.rows.append((0..<table.dimensions.count).map { generalized[$0][Int(table.value(row, $0))] })
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

    /// The generalized values of the table's dimensions for `key` (only `columns` are keyed;
    /// the table's other columns show "*").
    func values(of key: UInt64) -> [String] {
        var values = Array(repeating: Dimension.any, count: self.table.dimensions.count)
        var rest = key
        for column in self.columns.reversed() {
            let radix = UInt64(max(1, self.generalizedValues[column].count))
            values[column] = self.generalizedValues[column][Int(rest % radix)]
            rest /= radix
        }
        return values
    }

    struct Group {
        var key: UInt64
        var patients: Int
    }

    /// Each key with its distinct patients.
    func groups() -> [Group] {
        var pairs = zip(self.keys, self.table.patients).map { Pair(key: $0, patient: $1) }
        pairs.sort()
        return Self.count(pairs)
    }

    /// Each key with its distinct patients, each patient in at most `contributionBound` keys
    /// (chosen at random among theirs).
    func groups(contributionBound: Int, using generator: inout some RandomNumberGenerator) -> [Group] {
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
        return Self.count(kept)
    }

    private static func count(_ sorted: [Pair]) -> [Group] {
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
