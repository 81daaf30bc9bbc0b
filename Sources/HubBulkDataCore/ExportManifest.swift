public import Foundation
public import HubFHIR

/// The completion manifest (Bulk Data IG v2, "Response - Complete Status"): what a finished
/// export wrote, one entry per file.
public struct ExportManifest: Sendable, Equatable {
    /// One NDJSON file: one type's resources (a type may have several files).
    public struct File: Sendable, Equatable {
        public var type: ResourceType
        public var number: Int
        public var count: Int

        public init(type: ResourceType, number: Int, count: Int) {
            self.type = type
            self.number = number
            self.count = count
        }

        /// The file's name in its URL: `Observation-2.ndjson`.
        public var name: String { "\(self.type.rawValue)-\(self.number).ndjson" }

        /// Reads ``name``; nil for anything else.
        public init?(name: String) {
            guard name.hasSuffix(".ndjson") else { return nil }
            let stem = name.dropLast(".ndjson".count)
            let parts = stem.split(separator: "-", maxSplits: 1)
            guard parts.count == 2, let type = ResourceType(rawValue: String(parts[0])), let number = Int(parts[1]), number > 0,
                String(number) == parts[1]
            else { return nil }
            self.init(type: type, number: number, count: 0)
        }
    }

    public var transactionTime: Date
    /// The kick-off's URL as the client sent it (its query as sent; scheme and authority the
    /// hub's own).
    public var request: String
    public var files: [File]

    public init(transactionTime: Date, request: String, files: [File]) {
        self.transactionTime = transactionTime
        self.request = request
        self.files = files
    }

    /// The manifest's JSON, its file URLs under `fileBase` (`…/$export-file/<job>`).
    /// `requiresAccessToken` is true: a file is answered only to the client that asked, with
    /// its token or certificate.
    public func json(fileBase: String) -> JSONValue {
        let output: [JSONValue] = self.files.map { file in
            .object(
                JSONObject([
                    ("type", .string(file.type.rawValue)), ("url", .string("\(fileBase)/\(file.name)")), ("count", .number(String(file.count))),
                ]))
        }
        return .object(
            JSONObject([
                ("transactionTime", .string(UTCTime(self.transactionTime).instant)),
                ("request", .string(self.request)),
                ("requiresAccessToken", .bool(true)),
                ("output", .array(output)),
                ("error", .array([])),
            ]))
    }
}
