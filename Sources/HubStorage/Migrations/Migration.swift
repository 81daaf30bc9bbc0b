import Crypto

/// One numbered schema change, read from `migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The number in the file name; migrations run in increasing order.
    public let version: Int
    /// The rest of the file name, without `.sql`.
    public let name: String
    /// The statements of the file, in order.
    public let statements: [String]
    /// SHA-256 of the file's bytes, hex. An applied migration whose file no longer has this
    /// checksum stops the hub: the database no longer matches what the files say.
    public let checksum: String

    public init(version: Int, name: String, sql: String) throws(StorageError) {
        self.version = version
        self.name = name
        do {
            self.statements = try SQLScript.statements(in: sql)
        } catch {
            throw StorageError(
                .migrationFileInvalid,
                "migration \(version)_\(name): \(error.message) at line \(error.line)"
            )
        }
        guard !self.statements.isEmpty else {
            throw StorageError(.migrationFileInvalid, "migration \(version)_\(name) has no statements")
        }
        self.checksum = SHA256.hash(data: Array(sql.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// `0001_schema_migrations`, as in the file name.
    public var label: String {
        let number = String(self.version)
        return String(repeating: "0", count: max(0, 4 - number.count)) + number + "_" + self.name
    }
}
