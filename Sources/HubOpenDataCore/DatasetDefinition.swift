public import HubFHIR

/// What a regulator asks the hub to publish: which records, which columns, in which form, under
/// which protection. Validated whole before it is recorded (``validated(minimumK:)``), so that
/// nothing approved can fail for a reason visible at definition.
public struct DatasetDefinition: Sendable, Codable, Equatable {
    /// What one counted unit of the dataset is drawn from.
    public enum Subject: String, Sendable, Codable, CaseIterable {
        /// Patients (their Patient resources): demographics.
        case patients
        /// Diagnoses (Condition resources, coded in ICD-10), dated by onset or recording.
        case conditions
        /// Laboratory results (Observation resources, coded in LOINC), dated by when taken.
        case observations

        public var resourceType: ResourceType {
            switch self {
            case .patients: .patient
            case .conditions: .condition
            case .observations: .observation
            }
        }

        /// The dimensions that can describe it.
        public var dimensions: Set<Dimension> {
            switch self {
            case .patients: [.ageBand, .sex, .district]
            case .conditions: [.ageBand, .sex, .district, .month, .diagnosisChapter]
            case .observations: [.ageBand, .sex, .district, .month, .labTest]
            }
        }
    }

    public enum Form: String, Sendable, Codable, CaseIterable {
        /// Counts of distinct patients per combination of the dimensions' values.
        case aggregate
        /// One row per record: its dimensions' values, nothing else — no identifier, no link
        /// between the rows of one patient.
        case extract
    }

    public var title: String
    public var description: String
    public var classification: Classification
    public var subject: Subject
    public var form: Form
    public var dimensions: [Dimension]
    /// Only records dated in these months (`YYYY-MM`, inclusive); for conditions and observations.
    public var from: String?
    public var to: String?
    /// Only records this organization wrote (a hospital's own statistics).
    public var organization: String?
    /// The smallest class (or cell) published; at least the hub's minimum (`open_data.minimum_k`).
    public var k: Int?
    /// Differential privacy for an aggregate's counts: Laplace noise of scale
    /// `contributionBound / epsilon` on every count. Nil: exact counts (k-anonymity only).
    public var epsilon: Double?
    /// With `epsilon`: at most this many cells count one patient (the sensitivity). Default 1.
    public var contributionBound: Int?

    public init(
        title: String, description: String, classification: Classification, subject: Subject, form: Form, dimensions: [Dimension],
        from: String? = nil, to: String? = nil, organization: String? = nil, k: Int? = nil, epsilon: Double? = nil,
        contributionBound: Int? = nil
    ) {
        self.title = title
        self.description = description
        self.classification = classification
        self.subject = subject
        self.form = form
        self.dimensions = dimensions
        self.from = from
        self.to = to
        self.organization = organization
        self.k = k
        self.epsilon = epsilon
        self.contributionBound = contributionBound
    }

    /// The definition checked, with `k` (and with `epsilon`, `contributionBound`) filled in.
    public func validated(minimumK: Int) throws(DatasetDefinitionError) -> DatasetDefinition {
        var checked = self
        guard (1...200).contains(self.title.count) else { throw DatasetDefinitionError("title is 1–200 characters") }
        guard self.description.count <= 4_000 else { throw DatasetDefinitionError("description is at most 4,000 characters") }
        guard !self.dimensions.isEmpty, self.dimensions.count <= 5 else { throw DatasetDefinitionError("dimensions lists 1–5 columns") }
        guard Set(self.dimensions).count == self.dimensions.count else { throw DatasetDefinitionError("dimensions lists each column once") }
        for dimension in self.dimensions where !self.subject.dimensions.contains(dimension) {
            throw DatasetDefinitionError(
                "\(dimension.rawValue) does not describe \(self.subject.rawValue): use \(self.subject.dimensions.sorted().map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard self.dimensions.contains(where: \.isQuasiIdentifier) || self.form == .aggregate else {
            throw DatasetDefinitionError("an extract has at least one of age-band, sex, district, month")
        }
        if self.from != nil || self.to != nil {
            guard self.subject != .patients else { throw DatasetDefinitionError("from and to date conditions and observations, not patients") }
            for month in [self.from, self.to].compactMap({ $0 }) where !Self.isMonth(month) {
                throw DatasetDefinitionError("\(month) is not a month (YYYY-MM)")
            }
            if let from = self.from, let to = self.to, from > to { throw DatasetDefinitionError("from is not after to") }
        }
        if let organization = self.organization, !(1...64).contains(organization.count) {
            throw DatasetDefinitionError("organization is an organization's id")
        }
        // The values known before the data, at their finest, must fit the largest table.
        let months = self.from.flatMap { from in self.to.map { from...$0 } }
        let cells = self.dimensions.reduce(1.0) { product, dimension in
            product * Double(dimension.publicDomain(at: 0, months: months)?.count ?? 1)
        }
        guard self.form == .extract || cells <= Double(Anonymizer.maximumCells) else {
            throw DatasetDefinitionError(
                "these dimensions combine into \(Int(cells)) cells, more than \(Anonymizer.maximumCells): use fewer, or a shorter period")
        }
        let k = self.k ?? minimumK
        guard (minimumK...1_000).contains(k) else { throw DatasetDefinitionError("k is \(minimumK)–1000 (the hub's minimum is \(minimumK))") }
        checked.k = k
        if let epsilon = self.epsilon {
            guard self.form == .aggregate else { throw DatasetDefinitionError("epsilon (differential privacy) applies to aggregates only") }
            guard epsilon.isFinite, (0.01...10).contains(epsilon) else { throw DatasetDefinitionError("epsilon is 0.01–10") }
            let bound = self.contributionBound ?? 1
            guard (1...100).contains(bound) else { throw DatasetDefinitionError("contributionBound is 1–100") }
            checked.contributionBound = bound
        } else if self.contributionBound != nil {
            throw DatasetDefinitionError("contributionBound goes with epsilon")
        }
        return checked
    }

    /// Whether a record dated `month` (`YYYY-MM`) is in the definition's period.
    public func includes(month: String) -> Bool {
        if let from = self.from, month < from { return false }
        if let to = self.to, month > to { return false }
        return true
    }

    public var isPeriodLimited: Bool { self.from != nil || self.to != nil }

    static func isMonth(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let digits = [0, 1, 2, 3, 5, 6].allSatisfy { bytes.count == 7 && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) }
        guard digits, bytes[4] == UInt8(ascii: "-"), let month = Int(text.suffix(2)) else { return false }
        return (1...12).contains(month)
    }
}

/// Why a dataset definition cannot be recorded (answered 400).
public struct DatasetDefinitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
