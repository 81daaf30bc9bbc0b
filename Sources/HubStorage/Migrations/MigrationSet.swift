import Foundation

/// The migrations in a folder, in version order.
///
/// File names are `NNNN_name.sql` (digits, underscore, lower-case name); a `.sql` file that
/// does not match, two files with one version, or an unreadable file is an error, so a typo
/// in a file name cannot make a migration silently skipped.
public struct MigrationSet: Sendable, Equatable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) throws(StorageError) {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw StorageError(
                .migrationFileInvalid,
                "two migrations have version \(next.version): \(previous.label) and \(next.label)"
            )
        }
        self.migrations = sorted
    }

    /// Reads every `.sql` file in `directory`.
    public init(directory: String) throws(StorageError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StorageError(.migrationFileInvalid, "cannot list migrations folder \(directory)")
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                let version = Int(stem[..<underscore]), version > 0,
                stem[..<underscore].allSatisfy(\.isASCII),
                case let name = stem[stem.index(after: underscore)...], !name.isEmpty,
                name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                throw StorageError(
                    .migrationFileInvalid,
                    "migration file \(fileName) is not named NNNN_lower_case_name.sql"
                )
            }
            let path = directory + "/" + fileName
            guard let data = FileManager.default.contents(atPath: path),
                let sql = String(bytes: data, encoding: .utf8)
            else {
                throw StorageError(.migrationFileInvalid, "cannot read migration file \(path) as UTF-8")
            }
            migrations.append(try Migration(version: version, name: String(name), sql: sql))
        }
        try self.init(migrations)
    }

    /// The highest version, or 0 for an empty set.
    public var latestVersion: Int { self.migrations.last?.version ?? 0 }
}
