import HubConfig
import Testing

@Suite struct ConfigFileTests {
    @Test func parsesSectionsStringsNumbersAndBooleans() throws {
        let file = try ConfigFile(
            parsing: """
                # comment
                [server]
                host = "0.0.0.0"   # trailing comment
                port = 8_443

                [database]
                url = 'postgres://hub@db/hub'
                migrate_on_start = true
                """,
            name: "hub.toml"
        )
        #expect(file.entries["server.host"]?.value == .string("0.0.0.0"))
        #expect(file.entries["server.port"]?.value == .integer(8443))
        #expect(file.entries["database.url"]?.value == .string("postgres://hub@db/hub"))
        #expect(file.entries["database.migrate_on_start"]?.value == .boolean(true))
        #expect(file.entries["server.port"]?.origin == "hub.toml:4")
    }

    @Test func decodesEscapesInBasicStrings() throws {
        let file = try ConfigFile(parsing: "[a]\nb = \"x\\\"y\\\\z\\n\"", name: "f")
        #expect(file.entries["a.b"]?.value == .string("x\"y\\z\n"))
    }

    @Test(arguments: [
        ("port = 1", "setting outside any [section]"),
        ("[server]\nport = 1\nport = 2", "set more than once"),
        ("[server]\nhost = \"open", "string is not closed"),
        ("[server]\nhost = [1, 2]", "expected a quoted string, a whole number, true or false"),
        ("[server]\nhost", "expected `key = value`"),
        ("[server\nhost = \"x\"", "section header is not closed"),
        ("[server]\nHost = \"x\"", "malformed key"),
        ("[server]\nhost = \"x\" y", "unexpected text after the value"),
    ])
    func rejectsMalformedInputNamingTheLine(text: String, message: String) {
        #expect {
            _ = try ConfigFile(parsing: text, name: "hub.toml")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.message == message && (error.origin?.hasPrefix("hub.toml:") ?? false)
        }
    }
}
