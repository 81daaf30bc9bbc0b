import Foundation

/// Where PostgreSQL is, as a libpq-style connection URL.
///
/// `postgres://user:password@host:port/database?sslmode=require&sslrootcert=/path/ca.pem`.
/// A unix socket is named libpq's way, by its folder: `postgres://user@/database?host=/run/pg&port=5432`.
/// `sslmode` is `disable`, `prefer`, `require` or `verify-full`; the default is `prefer` for TCP,
/// as libpq does, and TLS is never used over a unix socket.
public struct DatabaseURL: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket *file* (`DIR/.s.PGSQL.PORT`), which is what PostgresNIO wants.
        case unixSocket(path: String)
    }

    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// PEM file with the CA that signs the server's certificate (for `verify-full`).
    public var sslRootCertificate: String?

    /// Whether the connection stays on this machine (a unix socket, or a loopback address or
    /// name), where nobody can sit between the hub and the server: only there may the server
    /// go unverified.
    public var isLocal: Bool {
        switch self.endpoint {
        case .unixSocket: return true
        case .tcp(let host, _):
            let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
            if name == "localhost" { return true }
            guard let address = IPAddress(name) else { return false }
            return IPNetwork("127.0.0.0/8")!.contains(address) || IPNetwork("::1/128")!.contains(address)
        }
    }

    public struct ParseError: Error, Sendable {
        public var message: String
    }

    public init(parsing text: String) throws(ParseError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw ParseError(message: "expected postgres://user@host:port/database")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            query[item.name] = item.value ?? ""
        }
        let known: Set = ["sslmode", "sslrootcert", "host", "port", "user", "password", "dbname"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw ParseError(message: "unsupported URL parameter \(unknown)")
        }

        let portText = query["port"] ?? components.port.map(String.init) ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw ParseError(message: "port must be 1...65535")
        }
        if let socketFolder = query["host"], socketFolder.hasPrefix("/") {
            self.endpoint = .unixSocket(path: socketFolder + "/.s.PGSQL.\(port)")
        } else {
            let host = query["host"] ?? components.host ?? ""
            guard !host.isEmpty else {
                throw ParseError(message: "missing host (for a unix socket use ?host=/socket/folder)")
            }
            self.endpoint = .tcp(host: host, port: port)
        }

        self.username = query["user"] ?? components.user ?? ""
        guard !self.username.isEmpty else {
            throw ParseError(message: "missing user name")
        }
        self.password = query["password"] ?? components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = query["dbname"] ?? path
        guard !self.database.isEmpty else {
            throw ParseError(message: "missing database name")
        }

        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw ParseError(message: "sslmode must be one of: disable, prefer, require, verify-full")
            }
            self.sslMode = parsed
        } else {
            self.sslMode = .prefer
        }
        self.sslRootCertificate = query["sslrootcert"]
        if self.sslMode == .verifyFull, self.sslRootCertificate == nil {
            throw ParseError(message: "sslmode=verify-full needs sslrootcert=/path/to/ca.pem")
        }
    }

    /// The URL without its password, safe to log.
    public var redacted: String {
        let user = self.username + (self.password == nil ? "" : ":***")
        switch self.endpoint {
        case .tcp(let host, let port):
            return "postgres://\(user)@\(host):\(port)/\(self.database)?sslmode=\(self.sslMode.rawValue)"
        case .unixSocket(let path):
            return "postgres://\(user)@/\(self.database)?socket=\(path)"
        }
    }

    /// A copy that names another database on the same server (tests make one per test).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }
}
