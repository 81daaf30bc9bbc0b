import Foundation
import HubDocuments
import HubSynthetic
import Testing

@Suite struct ClinicalDocumentHeaderTests {
    static func summary(seed: UInt64 = 7) -> (SyntheticPatients.Person, [UInt8]) {
        var people = SyntheticPatients(seed: seed)
        let person = people.person()
        return (person, Array(SyntheticPatients.dischargeSummaryCDA(person, day: "2026-11-28").utf8))
    }

    @Test func readsWhoseDocumentWhatKindByWhomAndWhen() throws {
        let (person, bytes) = Self.summary()
        let header = try ClinicalDocumentHeader(document: bytes)
        #expect(header.residentID == person.residentID)
        #expect(header.patientIdentifiers.count == 2)
        #expect(header.type == .init(code: "C0032", system: "2.16.156.10011.2.4", display: nil))
        #expect(header.title == "出院小结")
        #expect(header.effectiveTime == "2026-11-28T09:30:00+08:00")
        #expect(header.authorOrganization?.name == "第一人民医院")
        #expect(header.authorOrganization?.identifier == .init(root: "2.16.156.10011.1.5", value: "12440100455000001X"))
        #expect(header.custodian?.name == "第一人民医院")
    }

    @Test func wellFormednessErrorsSayWhere() {
        let (_, bytes) = Self.summary()
        var text = String(decoding: bytes, as: UTF8.self)
        // An end tag that does not match, on the line of the title.
        text = text.replacingOccurrences(of: "<title>出院小结</title>", with: "<title>出院小结</titel>")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("</titel>") }! + 1
        do {
            _ = try XMLDocumentCheck.check(Array(text.utf8))
            Issue.record("a mismatched tag was accepted")
        } catch {
            guard case .notWellFormed(let reported, _) = error.kind else {
                Issue.record("\(error)")
                return
            }
            #expect(reported == line)
            #expect(error.description.contains("line \(line)"))
        }
        for broken in ["", "<a>", "<a></b>", "not xml", "<a x='1' x='2'/>", "<?xml version=\"1.0\"?><a>&undefined;</a>"] {
            #expect(throws: DocumentError.self, "\(broken)") { try XMLDocumentCheck.check(Array(broken.utf8)) }
        }
    }

    @Test func documentTypeDeclarationsAreRefused() {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
            <lolz>&lol2;</lolz>
            """
        let external = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <r>&x;</r>
            """
        for text in [laughs, external] {
            #expect(throws: DocumentError(.documentTypeDeclaration, "documents with a DOCTYPE are not accepted")) {
                try XMLDocumentCheck.check(Array(text.utf8))
            }
        }
    }

    @Test func otherXMLIsOnlyCheckedAndACDAWithoutItsHeaderIsRefused() throws {
        #expect(try XMLDocumentCheck.check(Array("<report><value>1</value></report>".utf8)) == .otherXML)
        let headless = #"<ClinicalDocument xmlns="urn:hl7-org:v3"><title>无头</title></ClinicalDocument>"#
        #expect(throws: DocumentError.self) { try XMLDocumentCheck.check(Array(headless.utf8)) }
        let wrongNamespace = #"<ClinicalDocument><code code="C0032"/></ClinicalDocument>"#
        #expect(throws: DocumentError.self) { try XMLDocumentCheck.check(Array(wrongNamespace.utf8)) }
    }
}
