import HubHL7
import Testing

/// MSH-18: the bytes read as the message declares, and the ACK written back the same way.
@Suite struct HL7CharacterSetTests {
    static func message(declaring characterSet: String?, body: [UInt8]) -> [UInt8] {
        let header = "MSH|^~\\&|LIS|LAB|HUB|CITY|202611280845||ORU^R01^ORU_R01|1|P|2.5" + (characterSet.map { "||||||\($0)" } ?? "")
        return Array((header + "\rPID|1||").utf8) + body + [13]
    }

    @Test func readsGB18030AndWritesItBack() throws {
        // 张伟 in GB 18030, written by hand: D5 C5 CE B0.
        let bytes = Self.message(declaring: "GB 18030-2000", body: [0xD5, 0xC5, 0xCE, 0xB0])
        let (text, characterSet) = try HL7CharacterSet.decode(bytes)
        #expect(characterSet == .gb18030)
        #expect(text.contains("PID|1||张伟"))
        #expect(HL7CharacterSet.gb18030.encode("张伟") == [0xD5, 0xC5, 0xCE, 0xB0])
    }

    @Test func readsUTF8ByDefaultAndLatin1WhenDeclared() throws {
        #expect(try HL7CharacterSet.decode(Self.message(declaring: nil, body: Array("张伟".utf8))).characterSet == .utf8)
        let latin = try HL7CharacterSet.decode(Self.message(declaring: "8859/1", body: [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72]))
        #expect(latin.text.contains("Müller"))
        #expect(HL7CharacterSet.latin1.encode("Müller 张") == [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x20, 0x3F])
        #expect(HL7CharacterSet.ascii.encode("é") == [0x3F])
    }

    @Test func refusesUndeclaredBytesAndUnknownSets() {
        // GB 18030 bytes without MSH-18 are not UTF-8: rejected, pointing at MSH-18.
        #expect(throws: HL7Error.self) { try HL7CharacterSet.decode(Self.message(declaring: nil, body: [0xD5, 0xC5])) }
        do {
            _ = try HL7CharacterSet.decode(Self.message(declaring: "ISO IR87", body: []))
            Issue.record("an unknown character set was accepted")
        } catch {
            #expect(error.field == 18)
            #expect(error.condition == .tableValueNotFound)
        }
    }
}
