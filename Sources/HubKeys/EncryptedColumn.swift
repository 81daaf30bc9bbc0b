import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// A column of ciphertexts sealed by ``DataKeyRing``, which ``SuiteMigration`` can re-encrypt.
///
/// Modules that store encrypted data (the resource store) describe their columns with this, so
/// one migration job serves all of them.
public struct EncryptedColumn: Sendable {
    /// One stored ciphertext with what is needed to reseal it.
    public struct Value: Sendable {
        public var rowKey: String
        public var subject: String
        public var context: [UInt8]
        public var ciphertext: [UInt8]
    }

    public let table: String
    public let keyColumn: String
    public let subjectColumn: String
    public let valueColumn: String
    /// The AEAD context of a row, exactly as the code that sealed it computed it.
    public let context: @Sendable (_ rowKey: String, _ subject: String) -> [UInt8]

    /// - Throws: When a name is not a plain lower-case SQL identifier (names are spliced into SQL
    ///   and must come from code, never from input).
    public init(
        table: String,
        keyColumn: String,
        subjectColumn: String,
        valueColumn: String,
        context: @escaping @Sendable (_ rowKey: String, _ subject: String) -> [UInt8]
    ) throws {
        for name in [table, keyColumn, subjectColumn, valueColumn] {
            guard let first = name.first, first.isLetter || first == "_",
                name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" })
            else {
                throw EncryptedColumnError(message: "\(name) is not a plain SQL identifier")
            }
        }
        self.table = table
        self.keyColumn = keyColumn
        self.subjectColumn = subjectColumn
        self.valueColumn = valueColumn
        self.context = context
    }

    public var name: String { "\(self.table).\(self.valueColumn)" }

    /// The next rows after `cursor` in key order (keys compared as text).
    func batch(after cursor: String?, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Value] {
        var sql = SQLBuilder()
        let after = sql.bind(cursor)
        let text = """
            SELECT \(self.keyColumn)::text, \(self.subjectColumn)::text, \(self.valueColumn) FROM \(self.table)
            WHERE \(self.valueColumn) IS NOT NULL AND (\(after)::text IS NULL OR \(self.keyColumn)::text > \(after))
            ORDER BY \(self.keyColumn)::text LIMIT \(sql.bind(limit))
            FOR UPDATE
            """
        let rows = try await connection.query(sql.query(text), logger: logger)
        var values: [Value] = []
        for try await (key, subject, ciphertext) in rows.decode((String, String, ByteBuffer).self) {
            values.append(Value(rowKey: key, subject: subject, context: self.context(key, subject), ciphertext: Array(buffer: ciphertext)))
        }
        return values
    }

    func store(_ ciphertext: [UInt8], rowKey: String, on connection: PostgresConnection, logger: Logger) async throws {
        var sql = SQLBuilder()
        let text =
            "UPDATE \(self.table) SET \(self.valueColumn) = \(sql.bind(ByteBuffer(bytes: ciphertext))) WHERE \(self.keyColumn)::text = \(sql.bind(rowKey))"
        try await connection.run(sql.query(text), logger: logger)
    }
}

public struct EncryptedColumnError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}
