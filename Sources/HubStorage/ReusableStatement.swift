import Crypto
public import Logging
public import PostgresNIO
import Synchronization

/// A statement PostgreSQL parses and plans once per connection and then only executes.
///
/// The hub's statements carry the access rule in their text, which makes them expensive to plan
/// (hundreds of microseconds, several times their execution; docs/performance.md). A statement
/// whose text is the same for every call of its kind — every value bound, the text fixed by the
/// *shape* of the request (which rule, which members), never by its values — is worth preparing.
/// Make one with ``SQLBuilder/reusable(_:)`` only where that holds *and* where no value should
/// steer the plan: after five executions PostgreSQL may keep a generic plan, which is right for
/// a probe by key and can be far wrong for a search whose best index depends on its values
/// (searches stay ``SQLBuilder/query(_:)``).
///
/// The statement's name is the SHA-256 of its text, so equal texts share one preparation per
/// connection and different texts never meet under one name. The parameter types are fixed at
/// the first call on a connection, so every call of one text must bind the same Swift types
/// (a value that may be NULL needs a cast in the text, as for any statement).
public struct ReusableStatement: Sendable {
    public let query: PostgresQuery
    /// `hub_` and 32 hex digits of the text's SHA-256 (names are cut at 63 bytes by PostgreSQL);
    /// nil for a statement made with `reusable(_:if: false)`, planned at every call.
    public let name: String?

    init(_ query: PostgresQuery, prepared: Bool = true) {
        self.query = query
        guard prepared else {
            self.name = nil
            return
        }
        let digest = SHA256.hash(data: Array(query.sql.utf8))
        let hex = "0123456789abcdef".utf8.map { $0 }
        var name: [UInt8] = Array("hub_".utf8)
        name.reserveCapacity(36)
        for byte in digest.prefix(16) {
            name.append(hex[Int(byte >> 4)])
            name.append(hex[Int(byte & 0x0f)])
        }
        self.name = String(decoding: name, as: UTF8.self)
    }
}

extension SQLBuilder {
    /// A statement of these bindings, prepared once per connection: see ``ReusableStatement``
    /// for when that is right.
    public func reusable(_ text: String) -> ReusableStatement {
        ReusableStatement(self.query(text))
    }

    /// A statement prepared once per connection when `condition` holds, planned at every call
    /// otherwise: for a kind of statement whose plan depends on its values only in some shapes
    /// (a search that names one record by its identifier, against one over a common code).
    public func reusable(_ text: String, if condition: Bool) -> ReusableStatement {
        ReusableStatement(self.query(text), prepared: condition)
    }
}

extension PostgresConnection {
    /// Runs `statement` as a prepared statement of this connection (prepared at its first use
    /// here), and returns its rows.
    ///
    /// PostgresNIO remembers a failed preparation for the connection's lifetime. A preparation
    /// can fail for reasons that pass — cancelled at a deadline, waiting on a lock a migration
    /// holds, a table renamed away and back — so after a failure of that kind the connection is
    /// closed when its lease ends (``ConnectionLease``): the pool opens a fresh one, and the next
    /// call prepares again.
    public func query(_ statement: ReusableStatement, logger: Logger) async throws -> PreparedRows {
        guard let name = statement.name else {
            return PreparedRows(try await self.query(statement.query, logger: logger).map { $0 })
        }
        do {
            return try await PreparedRows.$current.withValue(statement) {
                PreparedRows(try await self.execute(PreparedRows.Execution(bindings: statement.query.binds), logger: logger))
            }
        } catch {
            if Self.mayHaveSpoiledPreparation(error) {
                let state = (error as? PSQLError)?.serverInfo?[.sqlState] ?? "none"
                logger.warning(
                    "a prepared statement failed; its connection will be replaced",
                    metadata: ["statement": "\(name)", "sqlstate": "\(state)"])
                if let lease = ConnectionLease.current {
                    lease.spoil()
                } else {
                    try? await self.close()
                }
            }
            throw error
        }
    }

    /// Runs `statement` to completion and discards its rows (as ``run(_:logger:)`` does for
    /// statements planned per call).
    public func run(_ statement: ReusableStatement, logger: Logger) async throws {
        let rows = try await self.query(statement, logger: logger)
        for try await _ in rows {}
    }

    /// Whether `error` may have come from a preparation that failed for a passing reason. Only
    /// errors that a statement raises while executing and its preparation cannot — bad data,
    /// an integrity violation, a serialization failure, an exception raised by a function —
    /// leave the connection open; anything else (a deadlock on a relation lock, an aborted
    /// transaction, memory) may have been the preparation's, and costs one reconnect.
    static func mayHaveSpoiledPreparation(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return true }
        if state == "40001" { return false }
        for kept in ["22", "23", "P0"] where state.hasPrefix(kept) {
            return false
        }
        return true
    }
}

/// The rows of a ``ReusableStatement``.
public struct PreparedRows: AsyncSequence, Sendable {
    public typealias Element = PostgresRow
    typealias Base = AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>

    let base: Base

    init(_ base: Base) {
        self.base = base
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.base.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator

        public mutating func next() async throws -> PostgresRow? {
            try await self.base.next()
        }
    }

    /// Decodes every row as `Columns`, as `PostgresRowSequence.decode` does.
    public func decode<each Column: PostgresDecodable & Sendable>(
        _ columnType: (repeat each Column).Type
    ) -> AsyncThrowingMapSequence<Self, (repeat each Column)> {
        self.map { row in try row.decode(columnType) }
    }

    /// The statement being sent, for the duration of one `execute` call.
    ///
    /// PostgresNIO's prepared statements name their text through static requirements (one
    /// type per statement); the hub's texts are rendered at run time from the access rule. The
    /// requirements therefore read the statement in flight from this task-local, which
    /// PostgresNIO consults synchronously when it sends the statement (and again only to
    /// describe an error). `ReusableStatementTests` fails if that stops being so. (Read outside
    /// it, they would name the unnamed statement: nothing in the hub does.)
    @TaskLocal static var current: ReusableStatement?

    struct Execution: PostgresPreparedStatement {
        typealias Row = PostgresRow

        static var name: String { PreparedRows.current?.name ?? "" }  // never nil while sent
        static var sql: String { PreparedRows.current?.query.sql ?? "" }

        let bindings: PostgresBindings

        func makeBindings() throws -> PostgresBindings { self.bindings }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
    }
}

/// One lease of a pooled connection, marked when the connection must not go back into use.
///
/// A connection cannot be closed in the middle of a transaction: the `ROLLBACK` that follows
/// would wait on it forever (a statement on a closed connection never answers). ``Database``
/// therefore closes a spoiled connection after its lease's work, transaction included, is over.
final class ConnectionLease: Sendable {
    @TaskLocal static var current: ConnectionLease?

    private let spoiled = Atomic<Bool>(false)

    func spoil() {
        self.spoiled.store(true, ordering: .relaxed)
    }

    /// Runs `body` as this lease's work, then closes `connection` if the work spoiled it.
    static func run<Result>(
        on connection: PostgresConnection,
        _ body: () async throws -> Result
    ) async throws -> Result {
        let lease = ConnectionLease()
        do {
            let result = try await ConnectionLease.$current.withValue(lease) { try await body() }
            await lease.closeIfSpoiled(connection)
            return result
        } catch {
            await lease.closeIfSpoiled(connection)
            throw error
        }
    }

    private func closeIfSpoiled(_ connection: PostgresConnection) async {
        guard self.spoiled.load(ordering: .relaxed) else { return }
        try? await connection.close()
    }
}
