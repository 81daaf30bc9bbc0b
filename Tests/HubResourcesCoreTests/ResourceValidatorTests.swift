import HubFHIR
import HubTestSupport
import Testing

@testable import HubResourcesCore

@Suite struct ResourceValidatorTests {
    static let validator = try! ResourceValidator.load(profilesDirectory: TestEnvironment.repositoryRoot() + "/profiles/fhir")

    static func validate(_ json: String, as type: ResourceType = .patient, id: String? = nil) throws -> JSONObject {
        try Self.validator.validate(try JSONParser.parse(Array(json.utf8)), as: type, expectedID: id)
    }

    /// The loader's numbered people never share a resident ID, and every one is valid.
    @Test func numberedPeopleHaveDistinctValidResidentIDs() {
        var generator = SyntheticPatients(seed: 11)
        let ids = (0..<20_000).map { generator.person(number: $0 * 3331).residentID }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { ResidentIDNumber.problem(with: $0) == nil })
    }

    @Test func acceptsSyntheticPatients() throws {
        var patients = SyntheticPatients(seed: 7)
        for _ in 0..<50 {
            _ = try Self.validate(patients.patientJSON())
        }
    }

    @Test func residentIDNumbersAreCheckedDigitByDigit() {
        #expect(ResidentIDNumber.problem(with: "11010519491231002X") == nil)
        #expect(ResidentIDNumber.problem(with: "11010519491231002x") == nil)
        #expect(ResidentIDNumber.problem(with: "110105194912310021") == "the check digit of the resident ID number is wrong")
        #expect(ResidentIDNumber.problem(with: "1101051949123100") == "a resident ID number has 18 characters")
        #expect(ResidentIDNumber.problem(with: "11010519491331002X") != nil)  // month 13
        var patients = SyntheticPatients(seed: 3)
        for _ in 0..<200 {
            #expect(ResidentIDNumber.problem(with: patients.person().residentID) == nil)
        }
    }

    @Test(arguments: [
        (
            #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:resident-id","value":"110105194912310021"}]}"#,
            ResourceError.Code.unprocessable, "Patient.identifier[0].value"
        ),
        (#"{"resourceType":"Patient","identifier":[{"system":"http://other","value":"1"}]}"#, .unprocessable, "Patient.identifier"),
        (#"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":"1"}],"gender":"M"}"#, .invalid, "Patient.gender"),
        (
            #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":"1"}],"birthDate":"1990-02-30"}"#, .invalid,
            "Patient.birthDate"
        ),
        (#"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":"1"}],"name":[]}"#, .invalid, "Patient.name"),
        (#"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":""}]}"#, .invalid, "Patient.identifier[0].value"),
        (#"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":null}]}"#, .invalid, "Patient.identifier[0].value"),
        (
            #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H1","value":"1"}],"generalPractitioner":[{"reference":"Practitioner/a b"}]}"#,
            .invalid, "Patient.generalPractitioner[0].reference"
        ),
        (#"{"resourceType":"Patient","id":"bad id!"}"#, .invalid, "Patient.id"),
        (#"{"resourceType":"Observation"}"#, .invalid, "resourceType"),
        (#"{"identifier":[]}"#, .invalid, "resourceType"),
        (#"{"resourceType":"Patient","bad-name":1}"#, .invalid, "Patient"),
    ])
    func refusesWithTheElementNamed(json: String, code: ResourceError.Code, expression: String) {
        let error = #expect(throws: ResourceError.self) { try Self.validate(json) }
        #expect(error?.code == code)
        #expect(error?.expression == [expression], "\(error?.diagnostics ?? "")")
    }

    @Test func updatesMustCarryTheURLsID() {
        let json = #"{"resourceType":"Organization","id":"a1","name":"协和医院"}"#
        #expect(throws: Never.self) { try Self.validate(json, as: .organization, id: "a1") }
        let other = #expect(throws: ResourceError.self) { try Self.validate(json, as: .organization, id: "a2") }
        #expect(other?.expression == ["Organization.id"])
        let missing = #expect(throws: ResourceError.self) {
            try Self.validate(#"{"resourceType":"Organization","name":"x"}"#, as: .organization, id: "a2")
        }
        #expect(missing?.diagnostics == "an update must carry the resource's id")
    }

    /// Strings hold no control characters but tab, CR and LF (R4): a name cannot smuggle the
    /// index keys' markers (SearchKeys), and a value stays printable wherever it goes.
    @Test func controlCharactersAreRefusedInStrings() {
        for bad in ["\\u0001smith", "a\\u0000b", "x\\u001fy"] {
            let error = #expect(throws: ResourceError.self) {
                try Self.validate(#"{"resourceType":"Organization","name":"\#(bad)"}"#, as: .organization)
            }
            #expect(error?.expression == ["Organization.name"], "\(bad)")
        }
        #expect(throws: Never.self) { try Self.validate(#"{"resourceType":"Organization","name":"第一\t人民\r\n医院"}"#, as: .organization) }
    }

    /// Tags only the hub sets on what it returns are refused on writes: the mutual-recognition
    /// mark (a result would show as recognised by no policy) and SUBSETTED (a part written back).
    @Test func theHubsOwnTagsAreNotStored() {
        for tag in [
            #"{"system":"urn:health-hub:mutual-recognition","code":"recognized"}"#,
            #"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}"#,
        ] {
            let error = #expect(throws: ResourceError.self) {
                try Self.validate(#"{"resourceType":"Organization","meta":{"tag":[{"code":"x"},\#(tag)]},"name":"x"}"#, as: .organization)
            }
            #expect(error?.code == .unprocessable && error?.expression == ["Organization.meta.tag[1]"])
        }
        #expect(throws: Never.self) {
            try Self.validate(
                #"{"resourceType":"Organization","meta":{"tag":[{"system":"urn:health-hub:tag","code":"x"}]},"name":"x"}"#, as: .organization)
        }
    }

    /// The directory's identifier systems are the hub's: a client claiming one is refused (422).
    @Test func theDirectorysIdentifierSystemsAreReserved() {
        for system in ResourceValidator.reservedIdentifierSystems {
            let error = #expect(throws: ResourceError.self) {
                try Self.validate(
                    #"{"resourceType":"Organization","identifier":[{"system":"urn:oid:1.2.3","value":"1"},{"system":"\#(system)","value":"test-hospital"}],"name":"冒名医院"}"#,
                    as: .organization)
            }
            #expect(error?.code == .unprocessable && error?.expression == ["Organization.identifier[1].system"])
        }
    }
}
