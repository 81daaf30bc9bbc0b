import HubFHIR
import Testing

@Suite struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test func keepsNumbersExactlyAndMembersInOrder() throws {
        let value = try Self.parse(#"{"valueDecimal": 1.50, "b": -0.0e-10, "a": 12345678901234567890123, "n": null}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["valueDecimal", "b", "a", "n"])
        #expect(object["valueDecimal"] == .number("1.50"))
        #expect(object["a"] == .number("12345678901234567890123"))
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"valueDecimal":1.50,"b":-0.0e-10,"a":12345678901234567890123,"n":null}"#)
    }

    @Test func decodesEscapesAndRoundTripsUnicode() throws {
        let value = try Self.parse(#"["王秀英", "a\"b\\c\/d\n", "\u738b\ud83d\ude00", "\u0001"]"#)
        #expect(value.arrayValue?.compactMap(\.stringValue) == ["王秀英", "a\"b\\c/d\n", "王😀", "\u{01}"])
        let again = try JSONParser.parse(value.serialized())
        #expect(again == value)
        #expect(String(decoding: JSONValue.string("\u{01}").serialized(), as: UTF8.self) == #""\u0001""#)
    }

    @Test func prettyPrintsWithTwoSpaces() throws {
        let value = try Self.parse(#"{"a":[1,{"b":true}],"c":{}}"#)
        #expect(
            String(decoding: value.serialized(pretty: true), as: UTF8.self)
                == "{\n  \"a\": [\n    1,\n    {\n      \"b\": true\n    }\n  ],\n  \"c\": {}\n}")
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate member \"a\" at line 1, column 8"),
        ("{\"a\":\n01}", "leading zero in number at line 2, column 2"),
        (#"[1,]"#, "unexpected character at line 1, column 4"),
        (#"{"a":1} x"#, "unexpected content after the JSON value at line 1, column 9"),
        ("\"tab\there\"", "control character in string (escape it) at line 1, column 5"),
        (#""\ud800""#, "unpaired surrogate in \\u escape at line 1, column 8"),
        (#"{"a" 1}"#, "expected ':' at line 1, column 6"),
        ("", "unexpected end of input at line 1, column 1"),
        (#"[1.]"#, "invalid number at line 1, column 4"),
        ("nul", "unexpected character at line 1, column 1"),
    ])
    func refusesMalformedJSONWithAPosition(text: String, message: String) {
        let error = #expect(throws: JSONParser.ParseError.self) { try Self.parse(text) }
        #expect(error?.description == message)
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        let invalid = #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(invalid?.message == "the body is not valid UTF-8")
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let tooDeep = #expect(throws: JSONParser.ParseError.self) { try Self.parse(deep) }
        #expect(tooDeep?.message == "nesting deeper than 64")
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try Self.parse(fine) }
    }
}

@Suite struct ReferenceTests {
    @Test func aReferenceNamesAnIdOnlyForItsType() throws {
        func reference(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(#"{"reference":"\#(text)"}"#.utf8)) }
        #expect(try reference("Organization/county-lab").referencedID("Organization") == "county-lab")
        #expect(try reference("Patient/p1/_history/3").referencedID("Patient") == "p1")
        #expect(try reference("Organization/x").referencedID("Patient") == nil)
        #expect(try reference("urn:uuid:5d1b0c1e").referencedID("Slot") == nil)
        #expect(try reference("Slot/").referencedID("Slot") == nil)
        #expect(try JSONParser.parse(Array(#"{"display":"x"}"#.utf8)).referencedID("Slot") == nil)
    }

    /// JSON objects are unordered: equivalence ignores member order, not array order.
    @Test func equivalenceIgnoresMemberOrderOnly() throws {
        let a = try JSONParser.parse(Array(#"{"a":1,"b":[{"x":true,"y":"z"},2]}"#.utf8))
        let b = try JSONParser.parse(Array(#"{"b":[{"y":"z","x":true},2],"a":1}"#.utf8))
        let c = try JSONParser.parse(Array(#"{"b":[2,{"y":"z","x":true}],"a":1}"#.utf8))
        let d = try JSONParser.parse(Array(#"{"b":[{"y":"z","x":true},2],"a":1,"c":null}"#.utf8))
        #expect(a.isEquivalent(to: b) && b.isEquivalent(to: a))
        #expect(!a.isEquivalent(to: c))
        #expect(!a.isEquivalent(to: d) && !d.isEquivalent(to: a))
    }
}
