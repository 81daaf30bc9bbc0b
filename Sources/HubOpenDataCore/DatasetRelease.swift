public import Foundation
public import HubCrypto
import HubFHIR

/// One computed release of a dataset: the published table and how it was protected. Rendered as
/// JSON (everything) and CSV (the table), each signed by the hub over its exact bytes
/// (``DatasetRelease/signature``), verifiable offline against `/.well-known/hub-keys`.
public struct DatasetRelease: Sendable, Codable, Equatable {
    /// How the table was protected, so a reader knows what the figures are.
    public struct Protection: Sendable, Codable, Equatable {
        /// No published class (extract) or cell (aggregate) holds fewer distinct patients.
        public var k: Int
        /// Each dimension's generalization level, by its name (`age-band`: `10 years`).
        public var generalization: [String: String]
        /// Aggregate cells shown without their count (fewer than k patients, or a noisy count
        /// below k).
        public var suppressedCells: Int?
        /// Extract rows left out with their classes.
        public var suppressedRows: Int?
        /// Differential privacy of the counts: ε of the whole release, the Laplace scale of each
        /// count, how many cells one patient may count in, and δ (the chance that a value only
        /// one patient has is named) when the data named a dimension's values. With noise, k is a
        /// threshold on the noisy counts.
        public var epsilon: Double?
        public var noiseScale: Double?
        public var contributionBound: Int?
        public var delta: Double?
    }

    public var dataset: String
    public var number: Int
    public var title: String
    public var description: String
    public var classification: Classification
    public var definition: DatasetDefinition
    /// The records as they stood then (FHIR instant).
    public var recordsAsOf: String
    public var computedAt: String
    /// Set when a regulator publishes it; unpublished releases are for review only.
    public var publishedAt: String?
    public var protection: Protection
    /// The dimensions' names, and `patients` last in an aggregate.
    public var columns: [String]
    /// Values in column order; an aggregate's last is the count of distinct patients, null where
    /// suppressed.
    public var rows: [[String?]]

    /// The scheme of the detached signatures over the renderings.
    public static let signature = DetachedSignature(context: "health-hub open data release v1")

    /// What a signature binds besides the bytes: which release of which dataset, of which grade —
    /// so that a leaked restricted file cannot pass as a public one, nor one release as another.
    /// Signed as parameters of the media type (`text/csv; dataset=…; release=…; classification=…`).
    public var signedSubject: String {
        Self.subject(dataset: self.dataset, number: self.number, classification: self.classification)
    }

    public static func subject(dataset: String, number: Int, classification: Classification) -> String {
        "dataset=\(dataset); release=\(number); classification=\(classification.rawValue)"
    }

    /// The media type a rendering is signed under: its own, with ``signedSubject``.
    public static func signedMediaType(_ mediaType: String, subject: String) -> String {
        mediaType + "; " + subject
    }

    /// The column an aggregate's counts are in.
    public static let countColumn = "patients"

    public init(
        dataset: String, number: Int, definition: DatasetDefinition, table: AnonymizedTable, recordsAsOf: Date, computedAt: Date
    ) {
        self.dataset = dataset
        self.number = number
        self.title = definition.title
        self.description = definition.description
        self.classification = definition.classification
        self.definition = definition
        self.recordsAsOf = Self.instant(recordsAsOf)
        self.computedAt = Self.instant(computedAt)
        var generalization: [String: String] = [:]
        for (dimension, level) in zip(table.dimensions, table.levels) { generalization[dimension.rawValue] = dimension.levels[level] }
        self.protection = Protection(
            k: definition.k ?? 0, generalization: generalization,
            suppressedCells: definition.form == .aggregate ? table.suppressedCells : nil,
            suppressedRows: definition.form == .extract ? table.suppressedRows : nil,
            epsilon: definition.epsilon, noiseScale: table.noiseScale,
            contributionBound: definition.epsilon == nil ? nil : definition.contributionBound,
            delta: table.delta)
        self.columns = table.dimensions.map(\.rawValue) + (definition.form == .aggregate ? [Self.countColumn] : [])
        self.rows =
            definition.form == .aggregate
            ? zip(table.rows, table.counts).map { values, count in values + [count.map(String.init)] }
            : table.rows
    }

    /// The JSON rendering: what is published and signed.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// The CSV rendering (RFC 4180, CRLF): the header, then the rows; a suppressed count is empty.
    public func csv() -> [UInt8] {
        var text = self.columns.map(Self.field).joined(separator: ",") + "\r\n"
        for row in self.rows {
            text += row.map { Self.field($0 ?? "") }.joined(separator: ",") + "\r\n"
        }
        return Array(text.utf8)
    }

    /// A CSV field, quoted when it must be, and a leading `=`, `+`, `-` or `@` defused so a
    /// spreadsheet does not run it as a formula.
    static func field(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@".contains(first), Int(value) == nil { value = "'" + value }
        guard value.contains(where: { ",\"\r\n".contains($0) }) else { return value }
        return "\"" + value.replacing("\"", with: "\"\"") + "\""
    }

    static func instant(_ date: Date) -> String {
        UTCTime(date).instant
    }
}
