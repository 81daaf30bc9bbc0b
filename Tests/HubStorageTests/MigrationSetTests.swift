import Foundation
import HubStorage
import HubTestSupport
import Testing

/// Writes migration files into a fresh temporary folder.
func migrationFolder(_ files: [String: String]) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, sql) in files {
        try sql.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
    }
    return folder
}

@Suite struct MigrationSetTests {
    @Test func readsFilesInVersionOrderWithChecksums() throws {
        let folder = try migrationFolder([
            "0002_second.sql": "CREATE TABLE b (x int);",
            "0001_first.sql": "CREATE TABLE a (x int); CREATE INDEX ON a (x);",
            "README.md": "not a migration",
        ])
        let set = try MigrationSet(directory: folder)
        #expect(set.migrations.map(\.label) == ["0001_first", "0002_second"])
        #expect(set.migrations[0].statements.count == 2)
        #expect(set.migrations[0].checksum.count == 64)
        #expect(set.migrations[0].checksum != set.migrations[1].checksum)
        #expect(set.latestVersion == 2)
    }

    @Test(arguments: [
        ["first.sql": "SELECT 1"],
        ["0001-first.sql": "SELECT 1"],
        ["0001_First.sql": "SELECT 1"],
        ["0001_a.sql": "SELECT 1", "001_b.sql": "SELECT 1"],
        ["0001_empty.sql": "-- nothing here"],
        ["0001_open.sql": "SELECT 'x"],
    ])
    func rejectsMisnamedDuplicateOrBrokenFiles(files: [String: String]) throws {
        let folder = try migrationFolder(files)
        let error = #expect(throws: StorageError.self) { try MigrationSet(directory: folder) }
        #expect(error?.code == .migrationFileInvalid)
    }

    @Test func theProjectsOwnMigrationsAreValid() throws {
        let set = try MigrationSet(directory: try requireMigrationsDirectory())
        #expect(!set.migrations.isEmpty)
    }
}

func requireMigrationsDirectory() throws -> String {
    try TestEnvironment.migrationsDirectory()
}
