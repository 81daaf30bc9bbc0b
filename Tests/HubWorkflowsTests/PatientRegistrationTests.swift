import HubFHIR
import HubWorkflows
import Testing

@Suite struct PatientRegistrationTests {
    static func patient(_ names: String, birthDate: String? = "1984-03-07") throws -> JSONObject {
        let birth = birthDate.map { #","birthDate":"\#($0)""# } ?? ""
        return try #require(try JSONParser.parse(Array(#"{"resourceType":"Patient","name":\#(names)\#(birth)}"#.utf8)).objectValue)
    }

    @Test func theSamePersonAsTheCardShowsThemMatches() throws {
        let registered = try Self.patient(#"[{"family":"王","given":["建国"],"text":"王建国"}]"#)
        for presented in [
            #"[{"family":"王","given":["建国"]}]"#,
            #"[{"text":"王 建国"}]"#,
            #"[{"text":"王建国"}]"#,
            #"[{"family":"Wang","given":["Jianguo"]},{"text":"王建国"}]"#,
        ] {
            #expect(PatientRegistration.particularsMatch(presented: try Self.patient(presented), registered: registered), "\(presented)")
        }
        let latin = try Self.patient(#"[{"family":"Wang","given":["Jian","Guo"]}]"#)
        #expect(PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":"jianguo WANG"}]"#), registered: latin))
        #expect(PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":"ＷＡＮＧ ＪＩＡＮＧＵＯ"}]"#), registered: latin))
    }

    @Test func aNumberWithOtherParticularsMatchesNobody() throws {
        let registered = try Self.patient(#"[{"family":"王","given":["建国"],"text":"王建国"}]"#)
        #expect(!PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"family":"李","given":["建国"]}]"#), registered: registered))
        #expect(!PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":"王建"}]"#), registered: registered))
        #expect(
            !PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":"王建国"}]"#, birthDate: "1984-03-08"), registered: registered))
        #expect(!PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":"王建国"}]"#, birthDate: nil), registered: registered))
        #expect(!PatientRegistration.particularsMatch(presented: try Self.patient(#"[]"#), registered: registered))
        #expect(
            !PatientRegistration.particularsMatch(presented: try Self.patient(#"[{"text":" "}]"#), registered: try Self.patient(#"[{"text":""}]"#)))
    }
}
