import ArgumentParser
import Foundation
import HubConfig
import HubCrypto
import HubKeys
import HubResources
import HubStorage
import PostgresNIO

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the hub's keys: generate, list, rotate, migrate to another suite, crypto-erase.",
        discussion: "No command ever prints key material.",
        subcommands: [Generate.self, Show.self, RotateKEK.self, Destroy.self, MigrateSuite.self, Erase.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the keys the configured suite needs (key-encryption, signing, blind-index) if missing."
        )
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await self.reportingFailures {
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                let created = try await runtime.keys { try await runtime.keyStore.generateMissingKeys(for: runtime.suite) }
                for key in created {
                    print("created \(key.purpose.rawValue) key \(key.id) (\(key.algorithm))")
                }
                if created.isEmpty { print("all keys of suite \(runtime.suite.name) exist") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys (ids, purposes, algorithms, dates, states), data keys per KEK, and key jobs."
        )
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await self.reportingFailures {
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                print("suite in force: \(runtime.suite.name)")
                let inventory = try await runtime.keys { try await runtime.keyStore.inventory() }
                print("KEY ID".padded(44) + "PURPOSE".padded(16) + "ALGORITHM".padded(13) + "STATE".padded(9) + "CREATED")
                for key in inventory {
                    print(
                        key.id.value.padded(44) + key.purpose.rawValue.padded(16) + key.algorithm.padded(13)
                            + key.state.rawValue.padded(9) + key.createdAt.formatted(.iso8601)
                    )
                }
                let logger = runtime.logger
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        let rows = try await runtime.database.withConnection("count data keys") { connection in
                            let rows = try await connection.query(
                                """
                                SELECT algorithm, coalesce(kek_id, '(erased)'), count(*)::bigint FROM data_keys
                                GROUP BY 1, 2 ORDER BY 1, 2
                                """,
                                logger: logger
                            )
                            var result: [(String, String, Int)] = []
                            for try await row in rows.decode((String, String, Int).self) { result.append(row) }
                            return result
                        }
                        print("\ndata keys:")
                        if rows.isEmpty { print("  none") }
                        for (algorithm, kek, count) in rows {
                            print("  \(count) \(algorithm) data key(s) wrapped by \(kek)")
                        }
                        let jobs = try await CryptoJobProgress.all(on: runtime.database, logger: logger)
                        print("\nkey jobs:")
                        if jobs.isEmpty { print("  none") }
                        for job in jobs {
                            print("  \(job.name): \(job.processed) processed, \(job.isDone ? "done" : "in progress (resume with the same command)")")
                        }
                    }
                }
            }
        }
    }

    struct RotateKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Make a new key-encryption key current and re-wrap every data key under it (online).",
            discussion: "Records are not re-encrypted. Interrupted, run again with --resume."
        )
        @OptionGroup var options: ConfigOption
        @Flag(help: "Do not create a new KEK; finish re-wrapping under the current one.")
        var resume = false

        func run() async throws {
            try await self.reportingFailures {
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                let ring = runtime.dataKeyRing()
                let resume = self.resume
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        let rewrap = DataKeyRewrap(ring: ring)
                        let progress: @Sendable (Int) -> Void = { count in print("  re-wrapped \(count)") }
                        if resume {
                            let count = try await rewrap.rewrapRemaining(progress: progress)
                            print("re-wrapped \(count) data key(s)")
                        } else {
                            let (kek, count) = try await rewrap.rotate(progress: progress)
                            print("new key-encryption key \(kek.id); re-wrapped \(count) data key(s)")
                        }
                        print("data keys still under old KEKs: \(try await rewrap.keysUnderOldKEKs())")
                    }
                }
            }
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy a retired key for good; refused for a KEK that still wraps data keys."
        )
        @OptionGroup var options: ConfigOption
        @Argument(help: "The key id, as `hub keys show` lists it.")
        var id: String

        func run() async throws {
            try await self.reportingFailures {
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                let id: KeyID
                do throws(CryptographyError) {
                    id = try KeyID(self.id)
                } catch {
                    throw FailureExit(message: error.description)
                }
                let logger = runtime.logger
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        let inUse = try await runtime.database.withConnection("check key use") { connection in
                            let rows = try await connection.query(
                                "SELECT count(*)::bigint FROM data_keys WHERE kek_id = \(id.value) AND wrapped IS NOT NULL",
                                logger: logger
                            )
                            for try await count in rows.decode(Int.self) { return count }
                            return 0
                        }
                        guard inUse == 0 else {
                            throw FailureExit(message: "key \(id) still wraps \(inUse) data key(s): run `hub keys rotate-kek --resume` first")
                        }
                        try await runtime.keyStore.destroyRetiredKey(id)
                        print("destroyed key \(id)")
                    }
                }
            }
        }
    }

    struct MigrateSuite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Re-encrypt stored data to the configured suite, in the background-safe batches.",
            discussion: "Resumable: interrupted, run it again; progress is in `hub keys show`."
        )
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await self.reportingFailures {
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                let columns = try EncryptedColumns.all
                let migration = SuiteMigration(ring: runtime.dataKeyRing(), columns: columns)
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        let report = try await migration.run { column, count in print("  \(column): \(count) examined") }
                        for (column, count) in report.resealed.sorted(by: { $0.key < $1.key }) {
                            print("\(column): \(count) re-encrypted to \(runtime.suite.cipher.algorithm)")
                        }
                    }
                }
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Crypto-erase a subject: destroy its data keys, making all its records unreadable, and delete their search index rows."
        )
        @OptionGroup var options: ConfigOption
        @Option(help: "The subject (patient) whose data keys to destroy.")
        var subject: String
        @Flag(help: "Confirm: this cannot be undone.")
        var yes = false

        func run() async throws {
            try await self.reportingFailures {
                guard self.yes else {
                    throw FailureExit(message: "crypto-erasure cannot be undone: add --yes to confirm")
                }
                let runtime = try Runtime(configuration: try self.options.load(checkFiles: false))
                let erasure = RecordErasure(database: runtime.database, ring: runtime.dataKeyRing(), logger: runtime.logger)
                let subject = self.subject
                try await runtime.databaseOperation {
                    try await runtime.database.whileRunning {
                        let report = try await erasure.erase(subject: subject)
                        print("erased \(report.dataKeys) data key(s) and \(report.indexRows) search index row(s)")
                    }
                }
            }
        }
    }
}

/// The encrypted columns `hub keys migrate` re-encrypts: every stored resource version.
enum EncryptedColumns {
    static var all: [EncryptedColumn] {
        get throws { [try PostgresResourceStore.encryptedColumn()] }
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String {
        self.count >= width ? self + " " : self + String(repeating: " ", count: width - self.count)
    }
}

extension Runtime {
    /// Runs a key-store operation, turning its errors into one line.
    func keys<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as CryptographyError {
            throw FailureExit(message: error.description)
        }
    }

    /// Runs a database-backed operation, turning storage and crypto errors into one line.
    func databaseOperation(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as StorageError {
            throw FailureExit(message: error.description)
        } catch let error as CryptographyError {
            throw FailureExit(message: error.description)
        }
    }
}
