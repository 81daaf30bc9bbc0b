import PostgresNIO

/// A storage failure, typed by what the caller can do about it.
///
/// `description` is safe to log and to show operators: it names the failure, never data or SQL.
/// `debugDescription` adds the underlying driver error (SQLSTATE and server message) for the
/// server log; it must never be sent to clients.
public struct StorageError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. New codes may be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unavailable, timeout, conflict, queryFailed
            case migrationFileInvalid, migrationChecksumMismatch, migrationUnknownVersion, migrationFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The database cannot be reached or refuses connections: retry later (HTTP 503).
        public static let unavailable = Code(.unavailable)
        /// The operation did not finish within the configured time (HTTP 503).
        public static let timeout = Code(.timeout)
        /// A serialization failure or unique violation: the caller's view is stale (HTTP 409).
        public static let conflict = Code(.conflict)
        /// The database rejected a statement: a bug or a schema out of date (HTTP 500).
        public static let queryFailed = Code(.queryFailed)
        /// A migration file is misnamed, empty or unreadable.
        public static let migrationFileInvalid = Code(.migrationFileInvalid)
        /// An applied migration's file has changed since it was applied.
        public static let migrationChecksumMismatch = Code(.migrationChecksumMismatch)
        /// The database has a migration this hub does not know: it is older than the schema.
        public static let migrationUnknownVersion = Code(.migrationUnknownVersion)
        /// A migration's SQL failed; it was rolled back.
        public static let migrationFailed = Code(.migrationFailed)

        public var description: String { self.base.rawValue }
    }

    public var code: Code
    /// A sentence for operators; contains no record data.
    public var message: String
    /// The driver error behind this one, for the server log only.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// True where retrying later may succeed (database down, overloaded, slow).
    public var isTransient: Bool {
        self.code == .unavailable || self.code == .timeout
    }

    public var description: String {
        "\(self.code): \(self.message)"
    }

    public var debugDescription: String {
        guard let underlying else { return self.description }
        return "\(self.description) [\(String(reflecting: underlying))]"
    }
}

extension StorageError {
    /// Whether the database's disk is full (SQLSTATE 53100): nothing that needs a new page can
    /// be written until space is freed (``DiskReserve``).
    public var isDiskFull: Bool {
        (self.underlying as? PSQLError)?.serverInfo?[.sqlState] == "53100"
    }

    /// True for failures of the database or the driver, false for the caller's own errors.
    static func isDatabaseFailure(_ error: any Error) -> Bool {
        error is StorageError || error is PSQLError || error is CancellationError || error is PostgresDecodingError
    }

    /// Runs `body`, turning whatever it throws into a ``StorageError`` (for APIs that promise one).
    static func typed<Result>(_ operation: String, _ body: () async throws -> Result) async throws(StorageError) -> Result {
        do {
            return try await body()
        } catch {
            throw StorageError.classify(error, operation: operation)
        }
    }

    /// Classifies an error thrown by PostgresNIO (or by our own code) into a ``StorageError``.
    static func classify(_ error: any Error, operation: String) -> StorageError {
        if let error = error as? StorageError { return error }
        if error is CancellationError {
            return StorageError(.timeout, "\(operation) was cancelled", underlying: error)
        }
        guard let psql = error as? PSQLError else {
            return StorageError(.queryFailed, "\(operation) failed", underlying: error)
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler:
            return StorageError(.unavailable, "database unreachable during \(operation)", underlying: psql)
        case .queryCancelled:
            return StorageError(.timeout, "\(operation) was cancelled", underlying: psql)
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            if state == "53100" {
                return StorageError(.unavailable, "the database's disk is full (\(operation) failed)", underlying: psql)
            }
            // Class 08: connection exception; 57P0x: server shutting down or starting;
            // 53: insufficient resources (too many connections).
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
                return StorageError(.unavailable, "database unavailable during \(operation)", underlying: psql)
            }
            // 57014: statement_timeout or cancel request.
            if state == "57014" {
                return StorageError(.timeout, "\(operation) timed out in the database", underlying: psql)
            }
            // 40001 serialization failure, 40P01 deadlock, 23505 unique violation.
            if state == "40001" || state == "40P01" || state == "23505" {
                return StorageError(.conflict, "\(operation) conflicted with a concurrent change", underlying: psql)
            }
            return StorageError(.queryFailed, "\(operation) failed (SQLSTATE \(state))", underlying: psql)
        default:
            return StorageError(.queryFailed, "\(operation) failed", underlying: psql)
        }
    }
}
