import HubBulkDataCore
import HubFHIR
import HubResourcesCore
import Testing

/// The import kick-off, the namespaced ids and the NDJSON lines, without a database.
@Suite struct ImportRequestTests {
    static let input = "0b7c2f7e-9a57-4c3e-8a51-1f0d1e0c9a11"
    static let other = "5d1f0a3c-2b8e-4e0f-9c7d-3a2b1c0d9e8f"

    static func parameters(_ inputs: [(String, String)], extra: String = "") throws -> JSONValue {
        let parts = inputs.map { type, url in
            #"{"name":"input","part":[{"name":"type","valueCode":"\#(type)"},{"name":"url","valueUri":"\#(url)"}]}"#
        }
        return try JSONParser.parse(Array(#"{"resourceType":"Parameters","parameter":[\#(extra)\#(parts.joined(separator: ","))]}"#.utf8))
    }

    @Test func aKickOffNamesStagedInputsAndPatientsAreWrittenFirst() throws {
        let request = try ImportRequest(
            parameters: try Self.parameters(
                [("Observation", "https://hub.test/fhir/$import-input/\(Self.other.uppercased())"), ("Patient", "$import-input/\(Self.input)")],
                extra: #"{"name":"inputFormat","valueCode":"application/fhir+ndjson"},"#),
            writable: nil)
        #expect(request.inputs.map(\.inputID) == [Self.other, Self.input])
        #expect(request.processingOrder.map(\.type) == [.patient, .observation])
    }

    @Test func refusals() throws {
        let cases: [(JSONValue, Set<ResourceType>?, Int)] = [
            (try Self.parameters([]), nil, 400),
            (try Self.parameters([("Consent", "$import-input/\(Self.input)")]), nil, 422),
            (try Self.parameters([("Task", "$import-input/\(Self.input)")]), nil, 422),
            (try Self.parameters([("Unicorn", "$import-input/\(Self.input)")]), nil, 400),
            (try Self.parameters([("Patient", "https://elsewhere.example/patients.ndjson")]), nil, 400),
            (try Self.parameters([("Patient", "$import-input/\(Self.input)/../x")]), nil, 400),
            (try Self.parameters([("Patient", "$import-input/0b7c2f7e9a574c3e8a511f0d1e0c9a11----")]), nil, 400),
            (try Self.parameters([("DocumentReference", "$import-input/\(Self.input)")]), nil, 422),
            (try Self.parameters([("Patient", "$import-input/\(Self.input)"), ("Observation", "$import-input/\(Self.input)")]), nil, 400),
            (try Self.parameters([("Patient", "$import-input/\(Self.input)")]), [.observation], 403),
            (try Self.parameters([("Patient", "$import-input/\(Self.input)")], extra: #"{"name":"inputFormat","valueCode":"text/csv"},"#), nil, 400),
            (try Self.parameters([("Patient", "$import-input/\(Self.input)")], extra: #"{"name":"colour","valueCode":"blue"},"#), nil, 400),
            (try JSONParser.parse(Array(#"{"resourceType":"Bundle"}"#.utf8)), nil, 400),
        ]
        for (body, writable, status) in cases {
            #expect(throws: ResourceError.self) { try ImportRequest(parameters: body, writable: writable) }
            do {
                _ = try ImportRequest(parameters: body, writable: writable)
            } catch {
                #expect(error.code.httpStatus == status, "\(error)")
            }
        }
    }

    @Test func idsAreAFunctionOfTheOrganizationTypeAndSourceID() throws {
        let a = ImportIdentity(organization: "hospital-a", key: Array(repeating: 1, count: 32))
        let id = a.id(.patient, "123")
        #expect(id == a.id(.patient, "123"))
        #expect(id != a.id(.observation, "123") && id != a.id(.patient, "124"))
        // Keyed: without the hub's key, a guessed source id does not give the hub's id.
        #expect(id != ImportIdentity(organization: "hospital-a", key: Array(repeating: 2, count: 32)).id(.patient, "123"))
        // A UUID (RFC 9562 version 8, variant 10): a valid FHIR id of 36 characters.
        #expect(id.count == 36 && ResourceValidator.isValidID(id))
        let characters = Array(id)
        #expect(characters[14] == "8" && ["8", "9", "a", "b"].contains(characters[19]))

        let resource = try #require(
            try JSONParser.parse(
                Array(
                    #"""
                    {"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"},
                     "encounter":{"reference":"Encounter/e9/_history/2"},"performer":[{"reference":"Organization/test-hospital"}],
                     "hasMember":[{"reference":"#c1"},{"reference":"https://other.example/fhir/Patient/9"}],
                     "contained":[{"resourceType":"Observation","id":"c1","subject":{"reference":"Patient/123"}}]}
                    """#.utf8)
            ).objectValue)
        let (mapped, mappedID) = a.rewrite(resource, type: .observation)
        #expect(mappedID == a.id(.observation, "o1"))
        #expect(mapped["id"] == nil)
        #expect(mapped["subject"]?.objectValue?["reference"]?.stringValue == "Patient/\(id)")
        #expect(mapped["encounter"]?.objectValue?["reference"]?.stringValue == "Encounter/\(a.id(.encounter, "e9"))")
        // The directory's resources, contained ones and other servers' are left as they are.
        #expect(mapped["performer"]?.elements.first?.objectValue?["reference"]?.stringValue == "Organization/test-hospital")
        #expect(mapped["hasMember"]?.elements.map { $0.objectValue?["reference"]?.stringValue } == ["#c1", "https://other.example/fhir/Patient/9"])
        #expect(mapped["contained"]?.elements.first?.objectValue?["subject"]?.objectValue?["reference"]?.stringValue == "Patient/\(id)")
        // An absolute reference to a patient's record — on any server, the hub's own included —
        // is found (and refused by the line reader).
        #expect(ImportIdentity.absoluteRecordReference(in: resource) == "https://other.example/fhir/Patient/9")
        var relative = resource
        relative["hasMember"] = nil
        #expect(ImportIdentity.absoluteRecordReference(in: relative) == nil)
        relative["subject"] = .object(JSONObject([("reference", .string("https://hub.test/fhir/Patient/real-1"))]))
        #expect(ImportIdentity.absoluteRecordReference(in: relative) == "https://hub.test/fhir/Patient/real-1")
    }

    @Test func linesAreNumberedAsTheFileIs() {
        let text = "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}"
        let lines = ImportLineReader.lines(Array(text.utf8))
        #expect(lines.map(\.number) == [1, 4, 5])
        #expect(lines.map { String(decoding: $0.text, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(ImportLineReader.lines([]).isEmpty)
        for sample in [text, "", "\n", " \r \n{}", "{}\n\n{}\r\n \t", "x"] {
            #expect(ImportLineReader.count(Array(sample.utf8)) == ImportLineReader.lines(Array(sample.utf8)).count, "\(sample)")
        }
    }
}
