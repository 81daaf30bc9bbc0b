import Foundation
import HubTestSupport
import Testing

/// The store's reads reach `resources` only through `RecordAccess.visibleResources`, the relation
/// that carries the caller's access condition (issue #14: a chain's inner query once had none).
/// This reads the sources the way a reviewer would, so that a new query naming the table
/// directly fails here instead of in an attacker's hands.
@Suite struct StoreSQLTests {
    /// The files whose SQL reads records for a caller: the search and its clause conditions
    /// (chains among them) — every `PostgresResourceStore+Search…` file, so a new one is read too.
    static func readers() throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestEnvironment.repositoryRoot() + "/Sources/HubResources")
        return files.filter { $0.hasPrefix("PostgresResourceStore+Search") && $0.hasSuffix(".swift") }.sorted()
    }
    /// The read functions of the store's reads file, by their first line.
    static let readFunctions = [
        "public func read(_ type: ResourceType, id: String, access: RecordAccess)",
        "public func read(_ type: ResourceType, id: String, version: Int, access: RecordAccess)",
        "public func history(_ type: ResourceType, id: String, count: Int, window: HistoryWindow, access: RecordAccess)",
        "public func history(_ type: ResourceType?, window: HistoryWindow, count: Int, after cursor: String?, access: RecordAccess)",
    ]

    static func source(_ file: String) throws -> String {
        try String(contentsOfFile: TestEnvironment.repositoryRoot() + "/Sources/HubResources/" + file, encoding: .utf8)
    }

    /// Mentions of the table outside the relation: `FROM resources`, `JOIN resources`.
    static func directMentions(in text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { line in
            line.range(of: #"(FROM|JOIN)\s+resources\b"#, options: .regularExpression) != nil
        }
    }

    @Test func searchSQLReachesRecordsOnlyThroughTheVisibleRelation() throws {
        let readers = try Self.readers()
        #expect(readers.contains("PostgresResourceStore+SearchConditions.swift"), "\(readers)")
        for file in readers {
            let text = try Self.source(file)
            #expect(Self.directMentions(in: text).isEmpty, "\(file): \(Self.directMentions(in: text))")
            #expect(text.contains("visibleResources("), "\(file) no longer uses the relation at all")
        }
        let store = try Self.source("PostgresResourceStore+Reads.swift")
        for signature in Self.readFunctions {
            let start = try #require(store.range(of: signature), "\(signature) is gone: update this test")
            // The function runs to the end of its body: the first line that closes at its indent.
            let rest = store[start.lowerBound...]
            let end = rest.range(of: "\n    }\n")?.lowerBound ?? rest.endIndex
            let body = String(rest[..<end])
            #expect(Self.directMentions(in: body).isEmpty, "\(signature): \(Self.directMentions(in: body))")
            #expect(body.contains("visibleResources("), "\(signature)")
        }
    }

    @Test func theCheckSeesADirectMention() {
        #expect(Self.directMentions(in: "SELECT c.id FROM resources c WHERE c.type = $1").count == 1)
        #expect(Self.directMentions(in: "JOIN  resources r ON r.id = f.id").count == 1)
        #expect(Self.directMentions(in: "FROM \\(access.visibleResources(\"c\", sql: &sql))").isEmpty)
    }
}
