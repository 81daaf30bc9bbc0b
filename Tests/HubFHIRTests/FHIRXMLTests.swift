import Foundation
import HubFHIR
import HubFHIRXML
import HubSynthetic
import HubTestSupport
import HubXML
import Testing

/// FHIR XML (R4 §2.7): what the hub writes it reads back unchanged, an independent
/// implementation (fhir.resources 6.4 with lxml) reads the hub's XML as the same resource and
/// writes XML the hub reads as the same resource, and what is not FHIR XML is refused with the
/// element at fault.
@Suite struct FHIRXMLTests {
    let reader = FHIRXMLReader(table: StructureFixtures.table)
    let writer = FHIRXMLWriter(table: StructureFixtures.table)

    /// Resources that exercise every rule of the XML form; none carries a primitive's `id`
    /// (the peer drops it, see fhir_xml.py), which ``primitiveIDsAndExactDecimalsSurvive`` covers.
    static var corpus: [String] {
        var synthetic = SyntheticPatients(seed: 20_261_206)
        var documents = StructureFixtures.minimal
        for index in 0..<6 {
            documents.append(synthetic.patientJSON())
            let day = synthetic.recentDay()
            documents.append(synthetic.encounterJSON(patient: "Patient/p\(index)", day: day, organization: "Organization/o1"))
            documents.append(
                synthetic.observationJSON(
                    test: LabTest.common[index % LabTest.common.count], patient: "Patient/p\(index)", day: day, performer: "Organization/o1"))
        }
        documents += [
            #"""
            {"resourceType":"Patient","id":"p-rich","meta":{"versionId":"3","lastUpdated":"2026-12-06T10:00:00.123+08:00","tag":[{"system":"http://e.org/t","code":"a"}]},
             "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"n\">王 <b>小明</b> &amp; &lt;co&gt;</p><ul><li>一</li><li>二</li></ul></div>"},
             "contained":[{"resourceType":"Organization","id":"o","name":"市第一人民医院"}],
             "extension":[{"url":"http://e.org/a","extension":[{"url":"inner","valueCode":"x"},{"url":"n","valueDecimal":36.60}]}],
             "modifierExtension":[{"url":"http://e.org/m","valueBoolean":false}],
             "identifier":[{"system":"urn:health-hub:sid:resident-id","value":"11010519491231002X"}],
             "active":true,
             "name":[{"use":"official","family":"王","given":["小明",null,"明"],"_given":[null,{"extension":[{"url":"http://e.org/g","valueString":"小"}]},null]}],
             "telecom":[{"system":"phone","value":"13800138000","rank":1}],
             "gender":"male","birthDate":"1990-01-01",
             "_birthDate":{"extension":[{"url":"http://e.org/lunar","valueString":"腊月初五"}]},
             "address":[{"line":["人民路 1 号","\"东\"区 <3> & 4\n\t第二行"],"city":"北京","postalCode":"100000"}],
             "multipleBirthInteger":0,
             "managingOrganization":{"reference":"#o"}}
            """#,
            #"""
            {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
             "subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2026-12-01T08:00:00+08:00"},
             "component":[{"code":{"text":"收缩压"},"valueQuantity":{"value":120,"unit":"mm[Hg]"}},
                          {"code":{"text":"舒张压"},"valueQuantity":{"value":-1.5e2,"unit":"mm[Hg]"}}],
             "note":[{"text":"晨起\n空腹"}]}
            """#,
            #"""
            {"resourceType":"Bundle","type":"searchset","total":2,
             "link":[{"relation":"self","url":"https://hub.example/fhir/Patient?name=%E7%8E%8B&_count=2"}],
             "entry":[{"fullUrl":"https://hub.example/fhir/Patient/a","resource":{"resourceType":"Patient","id":"a","gender":"female"},"search":{"mode":"match"}},
                      {"fullUrl":"https://hub.example/fhir/OperationOutcome/w","resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"processing","diagnostics":"部分"}]},"search":{"mode":"outcome"}}]}
            """#,
            #"""
            {"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"},
             {"name":"resource","resource":{"resourceType":"Patient","active":false}},
             {"name":"meta","part":[{"name":"tag","valueCoding":{"system":"http://e.org/t","code":"b"}}]}]}
            """#,
        ]
        return documents
    }

    static func object(_ json: String) throws -> JSONValue {
        try JSONParser.parse(Array(json.utf8))
    }

    @Test func whatTheHubWritesItReadsBackUnchanged() throws {
        for json in Self.corpus {
            let original = try Self.object(json)
            let xml = try self.writer.document(original)
            let read = try self.reader.resource(from: xml)
            #expect(read.isEquivalent(to: original), "\(String(decoding: xml, as: UTF8.self))")
            let pretty = try self.writer.document(original, pretty: true)
            #expect(try self.reader.resource(from: pretty).isEquivalent(to: original))
        }
    }

    @Test func primitiveIDsAndExactDecimalsSurvive() throws {
        let json =
            #"{"resourceType":"Observation","status":"final","_status":{"id":"s1"},"code":{"text":"x"},"valueQuantity":{"value":5.60,"_value":{"id":"v"}}}"#
        let xml = String(decoding: try self.writer.document(try Self.object(json)), as: UTF8.self)
        #expect(xml.contains(#"<status id="s1" value="final"/>"#))
        #expect(xml.contains(#"<value id="v" value="5.60"/>"#))
        let read = try self.reader.resource(from: Array(xml.utf8))
        #expect(read.objectValue?["valueQuantity"]?.objectValue?["value"] == .number("5.60"))
        #expect(read.isEquivalent(to: try Self.object(json)))
    }

    @Test func elementsFollowR4OrderWhateverTheJSONOrder() throws {
        let json = #"{"birthDate":"1990-01-01","name":[{"given":["明"],"family":"王"}],"identifier":[{"value":"1"}],"id":"x","resourceType":"Patient"}"#
        let xml = String(decoding: try self.writer.document(try Self.object(json)), as: UTF8.self)
        #expect(
            xml
                == #"<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir"><id value="x"/><identifier><value value="1"/></identifier>"#
                + #"<name><family value="王"/><given value="明"/></name><birthDate value="1990-01-01"/></Patient>"#)
    }

    @Test func anIndependentImplementationAgrees() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fhir-xml-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let corpus = Self.corpus
        for (index, json) in corpus.enumerated() {
            let name = String(format: "%03d", index)
            try Data(json.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name).json"))
            try Data(try self.writer.document(try Self.object(json))).write(to: URL(fileURLWithPath: "\(folder)/\(name).hub.xml"))
        }
        let written = try await TestPeer.run("fhir_xml.py", ["write", folder])
        #expect(written.status == 0, "\(written.standardError)")
        for index in corpus.indices {
            let name = String(format: "%03d", index)
            let peerXML = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).peer.xml"))
            let read = try self.reader.resource(from: Array(peerXML))
            try Data(read.serialized()).write(to: URL(fileURLWithPath: "\(folder)/\(name).hub-read.json"))
        }
        let compared = try await TestPeer.run("fhir_xml.py", ["compare", folder])
        #expect(compared.status == 0, "\(compared.standardOutput)\(compared.standardError)")
        #expect(compared.standardOutput.isEmpty, "\(compared.standardOutput)")
    }

    @Test(arguments: [
        (#"<Patient xmlns="http://hl7.org/fhir"><shoeSize value="42"/></Patient>"#, "shoeSize is not an element of Patient"),
        (#"<Patient><active value="true"/></Patient>"#, "not in the FHIR namespace"),
        (#"<Basic xmlns="http://hl7.org/fhir"/>"#, "Basic is not a resource type"),
        (#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#, "a boolean is true or false"),
        (#"<Patient xmlns="http://hl7.org/fhir"><multipleBirthInteger value="01"/></Patient>"#, "not a valid integer"),
        (#"<Patient xmlns="http://hl7.org/fhir"><gender value=""/></Patient>"#, "never empty"),
        (#"<Patient xmlns="http://hl7.org/fhir"><gender/></Patient>"#, "neither a value nor extensions"),
        (#"<Patient xmlns="http://hl7.org/fhir"><gender>male</gender></Patient>"#, "holds text"),
        (#"<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="female"/></Patient>"#, "appears more than once"),
        (
            #"<Patient xmlns="http://hl7.org/fhir"><name><family value="a"/></name><gender value="male"/><name><family value="b"/></name></Patient>"#,
            "must be adjacent"
        ),
        (#"<Patient xmlns="http://hl7.org/fhir"><name><id value="n"/></name></Patient>"#, "id is not an element of HumanName"),
        (#"<Patient xmlns="http://hl7.org/fhir" id="p"/>"#, "a resource has no attributes"),
        (#"<Patient xmlns="http://hl7.org/fhir"><name/></Patient>"#, "is empty"),
        (
            #"<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div>x</div></text></Patient>"#,
            "namespace http://www.w3.org/1999/xhtml"
        ),
        (#"<!DOCTYPE Patient [<!ENTITY x "y">]><Patient xmlns="http://hl7.org/fhir"/>"#, "DOCTYPE"),
        (#"<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>"#, "not well-formed"),
        (#"<Patient xmlns="http://hl7.org/fhir"><contained><Patient/><Patient/></contained></Patient>"#, "exactly one resource"),
    ])
    func refusesWhatIsNotFHIRXML(xml: String, expected: String) {
        #expect {
            _ = try self.reader.resource(from: Array(xml.utf8))
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func nestingIsBounded() {
        var xml = #"<Patient xmlns="http://hl7.org/fhir">"#
        xml += String(repeating: #"<extension url="u">"#, count: 80) + String(repeating: "</extension>", count: 80) + "</Patient>"
        #expect {
            _ = try self.reader.resource(from: Array(xml.utf8))
        } throws: { error in
            "\(error)".contains("nest deeper")
        }
    }

    @Test func theWriterRefusesWhatItCannotWrite() {
        for json in [#"{"resourceType":"Patient","shoeSize":1}"#, #"{"resourceType":"Basic"}"#, #"{"resourceType":"Patient","_name":[{}]}"#, "[1]"] {
            #expect(throws: FHIRXMLError.self) { try self.writer.document(try Self.object(json)) }
        }
    }

    @Test func anElementWithTooManyAttributesIsRefusedBeforeLibxml2Parses() {
        let attributes = (0..<65).map { #"a\#($0)="x""# }.joined(separator: " ")
        let xml = #"<Patient xmlns="http://hl7.org/fhir"><gender \#(attributes) value="male"/></Patient>"#
        #expect {
            _ = try self.reader.resource(from: Array(xml.utf8))
        } throws: { error in
            "\(error)".contains("more than 64 attributes")
        }
        // Quoted "=" and comments do not count.
        let quoted =
            #"<Patient xmlns="http://hl7.org/fhir"><!-- \#(String(repeating: "=", count: 100)) --><gender value="\#(String(repeating: "=", count: 100))"/></Patient>"#
        let read = try? self.reader.resource(from: Array(quoted.utf8))
        #expect(read?.objectValue?["gender"] == .string(String(repeating: "=", count: 100)))
    }

    @Test func undeclaredPrefixesAreRefused() {
        let xml =
            #"<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p foo:onclick="x">a</p></div></text></Patient>"#
        #expect {
            _ = try self.reader.resource(from: Array(xml.utf8))
        } throws: { error in
            "\(error)".contains("not well-formed")
        }
    }

    @Test(arguments: [
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script>x</div>"#, "may not hold <script>"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="alert(1)">x</p></div>"#, "attribute onclick"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><a href=" JavaScript:alert(1)">x</a></div>"#, "may not run code"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml" xmlns:x="urn:x"><p x:title="t">x</p></div>"#, "attribute title"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><x:p xmlns:x="urn:x">x</x:p></div>"#, "may not hold <p>"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"> <p> </p> </div>"#, "some content"),
        (#"<div>x</div>"#, "XHTML namespace"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><p>x</div>"#, "not well-formed"),
    ])
    func narrativesFollowR4sRules(xhtml: String, expected: String) {
        #expect(NarrativeXHTML.problem(with: xhtml)?.contains(expected) == true, "\(NarrativeXHTML.problem(with: xhtml) ?? "accepted")")
    }

    @Test func aNarrativeOfBasicFormattingIsAccepted() {
        let xhtml =
            #"<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="zh-CN"><h3>出院小结</h3><table class="g"><tr><td colspan="2">血糖</td></tr></table>"#
            + ##"<a href="https://hub.example/fhir/Patient/1">王</a><img src="#pic" alt="x"/></div>"##
        #expect(NarrativeXHTML.problem(with: xhtml) == nil)
    }

    @Test func theWriterStaysWellFormedWhateverAValueHolds() throws {
        let json = JSONValue.object(
            JSONObject([
                ("resourceType", .string("OperationOutcome")),
                (
                    "issue",
                    .array([
                        .object(
                            JSONObject([
                                ("severity", .string("error")), ("code", .string("invalid")),
                                ("diagnostics", .string("a\u{1}b\u{FFFE}c\u{FFFF}d\u{FFFD}")),
                            ]))
                    ])
                ),
            ]))
        let xml = try self.writer.document(json)
        let read = try self.reader.resource(from: xml)
        let diagnostics = read.objectValue?["issue"]?.arrayValue?.first?.objectValue?["diagnostics"]?.stringValue
        #expect(diagnostics == "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}")
        let unsafe =
            #"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p onclick=\"x\">a</p></div>"}}"#
        #expect(throws: FHIRXMLError.self) { try self.writer.document(try Self.object(unsafe)) }
    }
}
