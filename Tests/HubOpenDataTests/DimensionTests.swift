import HubFHIR
import HubOpenDataCore
import Testing

/// The generalization hierarchies, ICD-10 chapters and the projection of FHIR records to the
/// quasi-identifiers, without a database.
@Suite struct DimensionTests {
    @Test func hierarchiesClimbToAny() {
        #expect((0..<4).map { Dimension.ageBand.generalize("43", to: $0) } == ["40-44", "40-49", "40-59", "*"])
        #expect((0..<4).map { Dimension.ageBand.generalize("93", to: $0) } == ["90+", "90+", "80+", "*"])
        #expect((0..<4).map { Dimension.district.generalize("浙江省/杭州市/西湖区", to: $0) } == ["浙江省/杭州市/西湖区", "浙江省/杭州市", "浙江省", "*"])
        #expect((0..<4).map { Dimension.month.generalize("2026-11", to: $0) } == ["2026-11", "2026-Q4", "2026", "*"])
        #expect((0..<2).map { Dimension.sex.generalize("female", to: $0) } == ["female", "*"])
        #expect(Dimension.ageBand.generalize(Dimension.unknown, to: 1) == Dimension.unknown)
        // What a dataset is about is never generalized.
        #expect(Dimension.labTest.generalize("2345-7", to: 5) == "2345-7")
        #expect(Dimension.diagnosisChapter.levels.count == 1 && !Dimension.diagnosisChapter.isQuasiIdentifier)
    }

    @Test func icd10Chapters() {
        #expect(ICD10Chapter.chapter(of: "I21.0") == "IX I00-I99")
        #expect(ICD10Chapter.chapter(of: "e11.900") == "IV E00-E90")
        #expect(ICD10Chapter.chapter(of: "D50") == "III D50-D89")
        #expect(ICD10Chapter.chapter(of: "D48.9") == "II C00-D48")
        #expect(ICD10Chapter.chapter(of: "T98") == "XIX S00-T98")
        #expect(ICD10Chapter.chapter(of: "U07.1") == "XXII U00-U85")
        for notACode in ["", "I2", "12A", "ZZZ", "H96", "胸痛"] { #expect(ICD10Chapter.chapter(of: notACode) == nil, "\(notACode)") }
    }

    @Test func agesAndMonths() throws {
        let facts = PatientFacts(birth: CalendarDay("1980-06-15"), sex: "male", place: "a/b/c")
        #expect(facts.age(on: try #require(CalendarDay("2026-06-14"))) == 45)
        #expect(facts.age(on: try #require(CalendarDay("2026-06-15"))) == 46)
        #expect(facts.age(on: try #require(CalendarDay("1979-01-01"))) == nil)
        // A birth year alone counts from its middle.
        let yearOnly = PatientFacts(birth: CalendarDay("1980"), sex: "male", place: "a/b/c")
        #expect(yearOnly.age(on: try #require(CalendarDay("2026-03-01"))) == 45)
        #expect(yearOnly.age(on: try #require(CalendarDay("2026-08-01"))) == 46)
        #expect(CalendarDay("2026-03-04T10:00:00+08:00")?.monthText == "2026-03")
        #expect(CalendarDay("2026")?.monthText == nil)
        #expect(CalendarDay("2026-13") == nil && CalendarDay("26-01-01") == nil)
    }

    @Test func projectionKeepsOnlyQuasiIdentifiers() throws {
        let patient = try #require(
            try JSONParser.parse(
                Array(
                    """
                    {"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:health-hub:sid:resident-id","value":"110105198006150011"}],
                     "name":[{"text":"王伟"}],"gender":"male","birthDate":"1980-06-15",
                     "address":[{"use":"old","state":"四川省","city":"成都市","district":"武侯区"},
                                {"use":"home","line":["建国路88号"],"state":"北京市","city":"北京市","district":"朝阳区"}]}
                    """.utf8)
            ).objectValue)
        let facts = RecordProjection.patient(patient)
        #expect(facts == PatientFacts(birth: CalendarDay("1980-06-15"), sex: "male", place: "北京市/北京市/朝阳区"))
        let condition = try #require(
            try JSONParser.parse(
                Array(
                    """
                    {"resourceType":"Condition","subject":{"reference":"Patient/p1"},"onsetDateTime":"2026-02-10",
                     "code":{"coding":[{"system":"http://snomed.info/sct","code":"22298006"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"I21.9"}]}}
                    """.utf8)
            ).objectValue)
        let event = RecordProjection.event(condition, subject: .conditions)
        #expect(event == EventFacts(date: CalendarDay("2026-02-10"), code: "IX I00-I99"))
        let row = RecordProjection.row(
            patient: facts, event: event, asOf: CalendarDay(year: 2026, month: 12, day: 7),
            dimensions: [.ageBand, .sex, .district, .month, .diagnosisChapter])
        #expect(row == ["45", "male", "北京市/北京市/朝阳区", "2026-02", "IX I00-I99"])
        let bare = RecordProjection.patient(try #require(try JSONParser.parse(Array(#"{"resourceType":"Patient"}"#.utf8)).objectValue))
        #expect(bare == PatientFacts(birth: nil, sex: "unknown", place: "unknown/unknown/unknown"))
    }
}
