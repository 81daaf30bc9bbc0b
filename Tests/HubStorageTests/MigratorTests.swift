import Foundation
import HubConfig
import HubStorage
import HubTestSupport
import Logging
import Testing

@Suite struct MigratorTests {
    static let logger = makeTestLogger("test.migrator")

    static func migrator(_ folder: String, _ url: DatabaseURL) throws -> (Migrator, Database) {
        let database = try TestDatabase.database(url)
        return (Migrator(migrations: try MigrationSet(directory: folder), database: database, logger: logger), database)
    }

    @Test func appliesPendingMigrationsOnceAndRecordsThem() async throws {
        let folder = try migrationFolder([
            "0001_people.sql": "CREATE TABLE people (name text);",
            "0002_pets.sql": "CREATE TABLE pets (name text); INSERT INTO pets VALUES ('木木');",
        ])
        try await TestDatabase.withFresh { url in
            let (migrator, database) = try Self.migrator(folder, url)
            try await database.whileRunning {
                let before = try await migrator.status()
                #expect(before.pending.count == 2)
                #expect(!before.isCurrent)

                let applied = try await migrator.migrate()
                #expect(applied.map(\.version) == [1, 2])
                let again = try await migrator.migrate()
                #expect(again.isEmpty)

                let after = try await migrator.status()
                #expect(after.isCurrent)
                #expect(after.applied.map(\.checksum) == migrator.migrations.migrations.map(\.checksum))
            }
            #expect(try await TestDatabase.strings(url, "SELECT name FROM pets") == ["木木"])
        }
    }

    @Test func aChangedAppliedMigrationStopsEverything() async throws {
        let original = try migrationFolder(["0001_people.sql": "CREATE TABLE people (name text);"])
        let edited = try migrationFolder([
            "0001_people.sql": "CREATE TABLE people (name text, born date);",
            "0002_more.sql": "CREATE TABLE more (x int);",
        ])
        try await TestDatabase.withFresh { url in
            let (first, firstDatabase) = try Self.migrator(original, url)
            try await firstDatabase.whileRunning { try await first.migrate() }

            let (second, secondDatabase) = try Self.migrator(edited, url)
            try await secondDatabase.whileRunning {
                let error = await #expect(throws: StorageError.self) { try await second.migrate() }
                #expect(error?.code == .migrationChecksumMismatch)
                #expect(error?.message.contains("0001_people") == true)
                let status = try await second.status()
                #expect(!status.isCurrent)
                #expect(status.problems.first?.code == .migrationChecksumMismatch)
            }
            // Nothing after the mismatch was applied.
            #expect(try await TestDatabase.strings(url, "SELECT count(*)::text FROM pg_class WHERE relname = 'more'") == ["0"])
        }
    }

    @Test func aDatabaseNewerThanTheFilesIsRefused() async throws {
        let newer = try migrationFolder(["0001_a.sql": "CREATE TABLE a (x int);", "0002_b.sql": "CREATE TABLE b (x int);"])
        let older = try migrationFolder(["0001_a.sql": "CREATE TABLE a (x int);"])
        try await TestDatabase.withFresh { url in
            let (current, database) = try Self.migrator(newer, url)
            try await database.whileRunning { try await current.migrate() }
            let (old, oldDatabase) = try Self.migrator(older, url)
            try await oldDatabase.whileRunning {
                let error = await #expect(throws: StorageError.self) { try await old.migrate() }
                #expect(error?.code == .migrationUnknownVersion)
            }
        }
    }

    @Test func aFailingMigrationIsRolledBackWhole() async throws {
        let folder = try migrationFolder([
            "0001_ok.sql": "CREATE TABLE ok (x int);",
            "0002_broken.sql": "CREATE TABLE half (x int); INSERT INTO missing_table VALUES (1);",
        ])
        try await TestDatabase.withFresh { url in
            let (migrator, database) = try Self.migrator(folder, url)
            try await database.whileRunning {
                let error = await #expect(throws: StorageError.self) { try await migrator.migrate() }
                #expect(error?.code == .migrationFailed)
                #expect(error?.message.contains("0002_broken") == true)
                let status = try await migrator.status()
                #expect(status.applied.map(\.version) == [1])
                #expect(status.pending.map(\.version) == [2])
            }
            #expect(try await TestDatabase.strings(url, "SELECT count(*)::text FROM pg_class WHERE relname = 'half'") == ["0"])
            #expect(try await TestDatabase.strings(url, "SELECT count(*)::text FROM pg_class WHERE relname = 'ok'") == ["1"])
        }
    }

    @Test func concurrentMigratorsTakeTurns() async throws {
        // Without the lock these would collide: CREATE TABLE without IF NOT EXISTS, and a
        // slow first migration to widen the window.
        let folder = try migrationFolder([
            "0001_slow.sql": "SELECT pg_sleep(0.3); CREATE TABLE slow (x int);",
            "0002_next.sql": "CREATE TABLE next (x int);",
            "0003_last.sql": "CREATE TABLE last (x int);",
        ])
        try await TestDatabase.withFresh { url in
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let (migrator, database) = try Self.migrator(folder, url)
                        return try await database.whileRunning { try await migrator.migrate().count }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.reduce(0, +) == 3)
            #expect(counts.filter { $0 == 3 }.count == 1)
            #expect(
                try await TestDatabase.strings(url, "SELECT count(*)::text FROM hub_schema_migrations") == ["3"]
            )
        }
    }

    @Test func theProjectsMigrationsApplyToAnEmptyDatabase() async throws {
        try await TestDatabase.withFresh { url in
            let (migrator, database) = try Self.migrator(try TestEnvironment.migrationsDirectory(), url)
            try await database.whileRunning {
                try await migrator.migrate()
                #expect(try await migrator.status().isCurrent)
            }
            #expect(try await TestDatabase.strings(url, "SELECT count(*)::text FROM hub_instance") == ["1"])
        }
    }
}
