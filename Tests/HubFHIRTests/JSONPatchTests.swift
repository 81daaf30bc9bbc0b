import HubFHIR
import Testing

@Suite struct JSONPatchTests {
    static func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    static func apply(_ patch: String, to document: String) throws -> String {
        String(decoding: try JSONPatch(try Self.json(patch)).apply(to: try Self.json(document)).serialized(), as: UTF8.self)
    }

    // RFC 6902 appendix A examples.
    @Test func appliesTheRFCExamples() throws {
        #expect(try Self.apply(#"[{"op":"add","path":"/baz","value":"qux"}]"#, to: #"{"foo":"bar"}"#) == #"{"foo":"bar","baz":"qux"}"#)
        #expect(try Self.apply(#"[{"op":"add","path":"/foo/1","value":"qux"}]"#, to: #"{"foo":["bar","baz"]}"#) == #"{"foo":["bar","qux","baz"]}"#)
        #expect(try Self.apply(#"[{"op":"remove","path":"/foo/1"}]"#, to: #"{"foo":["bar","qux","baz"]}"#) == #"{"foo":["bar","baz"]}"#)
        #expect(
            try Self.apply(#"[{"op":"replace","path":"/baz","value":"boo"}]"#, to: #"{"baz":"qux","foo":"bar"}"#) == #"{"foo":"bar","baz":"boo"}"#)
        #expect(
            try Self.apply(
                #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#, to: #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#)
                == #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#)
        #expect(
            try Self.apply(#"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, to: #"{"foo":["bar"]}"#) == #"{"foo":["bar",["abc","def"]]}"#)
        #expect(try Self.apply(#"[{"op":"copy","from":"/a~1b","path":"/c"}]"#, to: #"{"a/b":1}"#) == #"{"a/b":1,"c":1}"#)
    }

    @Test func failsWholeOnAFailedTestOrMissingTarget() throws {
        let failed = #expect(throws: JSONPatch.PatchError.self) {
            try Self.apply(#"[{"op":"add","path":"/x","value":1},{"op":"test","path":"/baz","value":"bar"}]"#, to: #"{"baz":"qux"}"#)
        }
        #expect(failed?.isMalformed == false)
        #expect(failed?.message == "operation 1: test failed")
        #expect(throws: JSONPatch.PatchError.self) { try Self.apply(#"[{"op":"remove","path":"/nope"}]"#, to: #"{}"#) }
        let malformed = #expect(throws: JSONPatch.PatchError.self) { try JSONPatch(try Self.json(#"[{"op":"jump","path":"/a"}]"#)) }
        #expect(malformed?.isMalformed == true)
        #expect(throws: JSONPatch.PatchError.self) { try JSONPatch(try Self.json(#"[{"op":"add","path":"a","value":1}]"#)) }
    }
}
