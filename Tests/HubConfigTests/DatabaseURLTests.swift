import HubConfig
import Testing

@Suite struct DatabaseURLTests {
    @Test func parsesTCPWithCredentialsAndMode() throws {
        let url = try DatabaseURL(parsing: "postgresql://hub%40x:p%2Fw@10.0.0.5:6543/records?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(url.endpoint == .tcp(host: "10.0.0.5", port: 6543))
        #expect(url.username == "hub@x")
        #expect(url.password == "p/w")
        #expect(url.database == "records")
        #expect(url.sslMode == .verifyFull)
        #expect(url.sslRootCertificate == "/etc/ca.pem")
        #expect(url.redacted == "postgres://hub@x:***@10.0.0.5:6543/records?sslmode=verify-full")
    }

    @Test func namesAUnixSocketByItsFolderAsLibpqDoes() throws {
        let url = try DatabaseURL(parsing: "postgres://postgres@/hub?host=/run/pg&port=5433")
        #expect(url.endpoint == .unixSocket(path: "/run/pg/.s.PGSQL.5433"))
        #expect(url.sslMode == .prefer)
    }

    @Test(arguments: [
        "http://u@h/d",
        "postgres://h/d",
        "postgres://u@h/",
        "postgres://u@h:0/d",
        "postgres://u@h/d?sslmode=maybe",
        "postgres://u@h/d?sslmode=verify-full",
        "postgres://u@h/d?application_name=x",
    ])
    func rejects(text: String) {
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: text) }
    }
}
