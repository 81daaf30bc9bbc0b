/// The rows a release is computed from, compactly: each dimension's distinct finest values once,
/// and per row their numbers and the row's patient (a number, never an id). A million rows of
/// five columns take some 24 MB.
public struct RecordTable: Sendable {
    public let dimensions: [Dimension]
    /// Per dimension: its distinct finest values, and their numbers.
    private(set) var values: [[String]]
    private var numbers: [[String: Int32]]
    /// Row-major: `dimensions.count` value numbers per row.
    private(set) var cells: [Int32] = []
    private(set) var patients: [Int32] = []

    public init(dimensions: [Dimension]) {
        self.dimensions = dimensions
        self.values = Array(repeating: [], count: dimensions.count)
        self.numbers = Array(repeating: [:], count: dimensions.count)
    }

    /// Adds a row of `patient` (a number the caller gives each patient, the same for all their
    /// rows) with `row`'s finest values, one per dimension.
    public mutating func append(patient: Int, _ row: [String]) throws(AnonymizationError) {
        guard row.count == self.dimensions.count else {
            throw AnonymizationError("a row has \(row.count) values for \(self.dimensions.count) dimensions")
        }
        for (column, value) in row.enumerated() {
            if let number = self.numbers[column][value] {
                self.cells.append(number)
            } else {
                let number = Int32(self.values[column].count)
                self.values[column].append(value)
                self.numbers[column][value] = number
                self.cells.append(number)
            }
        }
        self.patients.append(Int32(truncatingIfNeeded: patient))
    }

    public var count: Int { self.patients.count }

    /// The number of the value in `column` of `row`.
    func value(_ row: Int, _ column: Int) -> Int32 {
        self.cells[row * self.dimensions.count + column]
    }
}
