/// How the database's applied migrations compare with the migration files.
public struct MigrationStatus: Sendable {
    /// A migration recorded in the database.
    public struct Applied: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var checksum: String
    }

    public var applied: [Applied]
    /// Files not yet applied, in the order they will run.
    public var pending: [Migration]
    /// Applied migrations whose file changed or vanished: the hub must not start on these.
    public var problems: [StorageError]

    /// True when every file is applied unchanged and the database has nothing unknown.
    public var isCurrent: Bool { self.pending.isEmpty && self.problems.isEmpty }

    /// Compares what the database recorded with the files.
    init(applied: [Applied], known: MigrationSet) {
        self.applied = applied
        let appliedByVersion = Dictionary(applied.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        let knownByVersion = Dictionary(known.migrations.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [StorageError] = []
        for record in applied {
            guard let file = knownByVersion[record.version] else {
                problems.append(
                    StorageError(
                        .migrationUnknownVersion,
                        "database has migration \(record.version) (\(record.name)) that no file describes: is this hub older than the database?"
                    )
                )
                continue
            }
            if file.checksum != record.checksum {
                problems.append(
                    StorageError(
                        .migrationChecksumMismatch,
                        "migration \(file.label) changed after it was applied (checksum \(record.checksum.prefix(12))… in the database, \(file.checksum.prefix(12))… in the file)"
                    )
                )
            }
        }
        self.problems = problems
        self.pending = known.migrations.filter { appliedByVersion[$0.version] == nil }
    }
}
