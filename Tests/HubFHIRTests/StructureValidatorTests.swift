import Foundation
import HubFHIR
import HubTestSupport
import Testing

@Suite struct StructureValidatorTests {
    static let table = try! StructureTable(
        contentsOf: URL(fileURLWithPath: TestEnvironment.repositoryRoot() + "/profiles/fhir/r4-structure.json")
    )
    static let validator = StructureValidator(table: table)

    static func issues(_ json: String) throws -> [StructureValidator.Issue] {
        let object = try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
        let type = try #require(object["resourceType"]?.stringValue)
        return Self.validator.issues(in: object, as: type)
    }

    @Test func theTableCoversEverySupportedType() {
        #expect(Self.table.fhirVersion == "4.0.1")
        for type in ResourceType.allCases {
            #expect(Self.table.resources.contains(type.rawValue), "\(type)")
        }
    }

    @Test(arguments: StructureFixtures.minimal)
    func acceptsMinimalResources(json: String) throws {
        #expect(try Self.issues(json) == [])
    }

    @Test(arguments: StructureFixtures.broken)
    func namesTheElementAtFault(broken: StructureFixtures.Broken) throws {
        let issues = try Self.issues(broken.json)
        #expect(issues.map(\.path) == [broken.expression], "\(issues)")
    }

    @Test func reportsEveryProblemUpToTheLimit() throws {
        let issues = try Self.issues(#"{"resourceType":"Observation","a":1,"b":2,"gender":"x"}"#)
        #expect(issues.map(\.path) == ["Observation.a", "Observation.b", "Observation.gender", "Observation.code", "Observation.status"])
        let many = "{\"resourceType\":\"Patient\"," + (0..<50).map { "\"x\($0)\":1" }.joined(separator: ",") + "}"
        #expect(try Self.issues(many).count == Self.validator.limit)
    }

    @Test(arguments: [
        ("date", "2024", true), ("date", "2024-02-29", true), ("date", "2023-02-29", false), ("date", "2024-13", false),
        ("date", "24-01-01", false), ("dateTime", "2024-01-01T00:00:00Z", true), ("dateTime", "2024-01-01T23:59:59.5+08:00", true),
        ("dateTime", "2024-01-01T24:00:00Z", false), ("dateTime", "2024-01-01T10:00:00", false), ("dateTime", "2024-01", true),
        ("instant", "2024-01-01", false), ("instant", "2024-01-01T10:00:00.123-05:00", true), ("time", "10:00:00", true),
        ("time", "10:00", false), ("code", "in-progress", true), ("code", " in", false), ("code", "a  b", false),
        ("id", "abc.DEF-1", true), ("id", "a_b", false), ("uri", "http://loinc.org", true), ("uri", "a b", false),
        ("oid", "urn:oid:2.16.156.10011", true), ("oid", "urn:oid:3.1", false), ("uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true),
        ("uuid", "urn:uuid:C757873D-ec9a-4326-a141-556f43239520", false), ("base64Binary", "5L2g5aW9", true), ("base64Binary", "5L2g*", false),
    ])
    func primitivesFollowR4sLexicalRules(type: String, text: String, valid: Bool) {
        #expect((FHIRPrimitive.problem(with: .string(text), as: type) == nil) == valid)
    }

    @Test(arguments: [
        ("integer", "-5", true), ("integer", "2147483648", false), ("integer", "1.5", false), ("positiveInt", "0", false),
        ("unsignedInt", "0", true), ("unsignedInt", "-1", false), ("decimal", "1.50", true),
    ])
    func numbersFollowR4sRanges(type: String, text: String, valid: Bool) {
        #expect((FHIRPrimitive.problem(with: .number(text), as: type) == nil) == valid)
    }

    /// What the benchmark loader and the tests generate is valid FHIR R4.
    @Test func syntheticRecordsAreValid() throws {
        var generator = SyntheticPatients(seed: 5)
        for number in 0..<40 {
            let person = generator.person(number: number * 7919)
            #expect(try Self.issues(generator.patientJSON(person)) == [])
            let day = generator.recentDay()
            #expect(try Self.issues(generator.encounterJSON(patient: "Patient/p\(number)", day: day, organization: "Organization/o1")) == [])
            for test in LabTest.common {
                #expect(
                    try Self.issues(
                        generator.observationJSON(
                            test: test, patient: "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", encounter: "Encounter/e", day: day)) == [])
            }
        }
    }

    @Test func aTableWithoutAResourcesDefinitionIsRefused() {
        let json = #"{"fhirVersion":"4.0.1","resources":["Patient"],"types":{}}"#
        #expect(throws: StructureTableError.self) { try StructureTable(json: Data(json.utf8)) }
    }
}

/// Lists of primitives with gaps (R4 §2.6.2.3): a null where only the `_name` list beside it
/// has an entry, and the other way round; nowhere else.
@Suite struct PrimitiveListGapTests {
    @Test(arguments: [
        #"{"resourceType":"Patient","name":[{"given":["明",null],"_given":[null,{"extension":[{"url":"http://e.org/g","valueString":"小"}]}]}]}"#,
        #"{"resourceType":"Patient","name":[{"given":["明","华"],"_given":[null,{"id":"g2"}]}]}"#,
    ])
    func gapsPairedWithTheListBesideThemAreAccepted(json: String) throws {
        #expect(try StructureValidatorTests.issues(json) == [])
    }

    @Test(arguments: [
        (#"{"resourceType":"Patient","name":[{"given":["明",null]}]}"#, "null is allowed only"),
        (#"{"resourceType":"Patient","name":[{"given":[null],"_given":[null]}]}"#, "null is allowed only"),
        (#"{"resourceType":"Patient","name":[{"given":["明"],"_given":[null,{"id":"x"}]}]}"#, "same length"),
        (#"{"resourceType":"Patient","identifier":[null]}"#, "null is allowed only"),
    ])
    func otherNullsAreRefused(json: String, expected: String) throws {
        let issues = try StructureValidatorTests.issues(json)
        #expect(issues.contains { $0.message.contains(expected) }, "\(issues)")
    }
}
