import HubStorage
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() throws {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'it''s; fine');
            /* block; /* nested; */ still comment; */
            INSERT INTO a VALUES (E'back\\'slash;');
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;
            CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 2; END; $body$;
            SELECT "odd;name" FROM a WHERE x = $1
            """
        let statements = try SQLScript.statements(in: script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix("DEFAULT 'it''s; fine')"))
        #expect(statements[1] == "/* block; /* nested; */ still comment; */\nINSERT INTO a VALUES (E'back\\'slash;')")
        #expect(statements[2].hasSuffix("$$ SELECT 1; $$"))
        #expect(statements[3].hasSuffix("$body$ BEGIN RETURN 2; END; $body$"))
        #expect(statements[4] == "SELECT \"odd;name\" FROM a WHERE x = $1")
    }

    @Test func dropsEmptyAndCommentOnlyStatements() throws {
        #expect(try SQLScript.statements(in: ";;\n-- only a comment\n;/* x */;") == [])
    }

    @Test(arguments: ["SELECT 'open", "SELECT $$ open", "/* open", "SELECT \"open"])
    func rejectsUnterminatedConstructs(script: String) {
        #expect(throws: SQLScript.ParseError.self) { try SQLScript.statements(in: script) }
    }
}
