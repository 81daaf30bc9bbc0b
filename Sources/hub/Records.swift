import ArgumentParser
import Foundation
import HubConfig
import HubResources
import HubStorage

struct Records: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Maintain the stored records.",
        subcommands: [Reprocess.self]
    )

    struct Reprocess: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every current record's search index rows and patient from the record itself.",
            discussion: """
                Run after an upgrade that changes how records are indexed or classified (the release \
                notes say so). Prints counts and the ids of records today's rules refuse, never their \
                contents. Safe to run again; each page of records is one transaction.
                """
        )
        @OptionGroup var options: ConfigOption
        @Option(help: "Records per transaction.")
        var pageSize = 200

        func run() async throws {
            try await self.reportingFailures {
                let configuration = try self.options.load(checkFiles: false)
                let runtime = try Runtime(configuration: configuration)
                let validator: ResourceValidator
                do throws(ConfigurationError) {
                    validator = try ResourceValidator.load(profilesDirectory: configuration.fhir.profilesDirectory)
                } catch {
                    throw FailureExit(message: error.description, code: .configuration)
                }
                let store = runtime.resourceStore(identifierSystems: validator.identifierSystems, configuration: configuration)
                let pageSize = self.pageSize
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        var cursor: String?
                        var examined = 0
                        var reclassified = 0
                        var refused: [String: String] = [:]
                        var erased = 0
                        repeat {
                            let page = try await store.reprocess(after: cursor, limit: pageSize)
                            examined += page.examined
                            reclassified += page.reclassified.count
                            erased += page.erased
                            refused.merge(page.refused) { first, _ in first }
                            cursor = page.next
                        } while cursor != nil
                        try await store.markReprocessed()
                        print(
                            "reprocessed \(examined) record(s): \(reclassified) filed under another patient, \(refused.count) refused by today's rules, \(erased) crypto-erased (skipped)"
                        )
                        for (record, reason) in refused.sorted(by: { $0.key < $1.key }) {
                            print("  refused \(record): \(reason) cannot be filed under one patient")
                        }
                    }
                }
            }
        }
    }
}
