import HubFHIR
import Testing

/// The one classification of every write: which patient a resource belongs to, with references in
/// any legal form, and the forms that are refused rather than stored as "no patient".
@Suite struct PatientCompartmentTests {
    static let canonicalizer = ReferenceCanonicalizer(bases: ["https://hub.example/fhir"])

    static func resource(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(text.utf8)).objectValue)
    }

    static func patient(_ text: String, _ type: ResourceType) throws -> String? {
        try PatientCompartment.patient(of: Self.canonicalizer.canonicalize(try Self.resource(text)), type: type, id: "r1")
    }

    @Test func theElementsComeFromR4sDefinitionWithTheHubsAdditions() {
        // Spot checks against hl7.org/fhir/R4/compartmentdefinition-patient.html.
        #expect(PatientCompartment.elements(of: .observation).map(\.path) == ["subject", "performer"])
        #expect(PatientCompartment.elements(of: .appointment).map(\.path) == ["participant.actor"])
        #expect(PatientCompartment.elements(of: .provenance).map(\.path) == ["target"])
        #expect(PatientCompartment.elements(of: .composition).map(\.path) == ["subject", "author", "attester.party"])
        #expect(PatientCompartment.elements(of: .procedure).map(\.path) == ["subject", "performer.actor"])
        #expect(PatientCompartment.elements(of: .task).map(\.path) == ["for"])
        // A Group is in R4's compartment (`member`); the hub keeps it out: it names many patients.
        #expect(ResourceType.group.r4PatientCompartment.map(\.path) == ["member.entity"])
        for type in [ResourceType.organization, .practitioner, .practitionerRole, .slot, .subscription, .group, .patient] {
            #expect(PatientCompartment.elements(of: type).isEmpty, "\(type)")
        }
    }

    @Test(arguments: [
        "Patient/p1", "Patient/p1/_history/3", "https://hub.example/fhir/Patient/p1", "https://hub.example/fhir/Patient/p1/_history/1",
    ])
    func everyLegalFormOfALocalPatientFilesTheRecordUnderIt(reference: String) throws {
        #expect(try Self.patient(#"{"resourceType":"Observation","subject":{"reference":"\#(reference)"}}"#, .observation) == "p1")
        #expect(
            try Self.patient(
                #"{"resourceType":"Observation","performer":[{"reference":"Practitioner/d1"},{"reference":"\#(reference)"}]}"#, .observation) == "p1")
        #expect(
            try Self.patient(#"{"resourceType":"Provenance","target":[{"reference":"Observation/o1"},{"reference":"\#(reference)"}]}"#, .provenance)
                == "p1")
    }

    @Test func canonicalFormsAreRelativeAndOnlyOnTheHubsBase() throws {
        let canonical = Self.canonicalizer.canonicalize(
            try Self.resource(
                #"{"resourceType":"Observation","subject":{"reference":"https://hub.example/fhir/Patient/p1/_history/2"},"basedOn":[{"reference":"https://hub.example/fhir/ServiceRequest/s1"}],"derivedFrom":[{"reference":"https://other.example/fhir/Observation/o9"}],"contained":[{"resourceType":"Provenance","target":[{"reference":"https://hub.example/fhir/Observation/o1"}]}]}"#
            ))
        let text = String(decoding: JSONValue.object(canonical).serialized(), as: UTF8.self)
        #expect(text.contains(#""reference":"Patient/p1/_history/2""#))
        #expect(text.contains(#""reference":"ServiceRequest/s1""#))
        #expect(text.contains(#""reference":"https://other.example/fhir/Observation/o9""#))
        #expect(text.contains(#""reference":"Observation/o1""#))
        // A look-alike base is not the hub's.
        #expect(Self.canonicalizer.canonical("https://hub.example/fhirx/Patient/p1") == "https://hub.example/fhirx/Patient/p1")
        #expect(Self.canonicalizer.canonical("https://hub.example/fhir/Patient/p1/x") == "https://hub.example/fhir/Patient/p1/x")
    }

    @Test func recordsOutsideEveryCompartmentHaveNoPatient() throws {
        #expect(try Self.patient(#"{"resourceType":"Observation","subject":{"reference":"Group/g1"}}"#, .observation) == nil)
        #expect(try Self.patient(#"{"resourceType":"Observation","performer":[{"display":"王医生"}]}"#, .observation) == nil)
        #expect(try Self.patient(#"{"resourceType":"Schedule","actor":[{"reference":"Practitioner/d1"},{"display":"心内科"}]}"#, .schedule) == nil)
        #expect(try Self.patient(#"{"resourceType":"Organization","name":"x"}"#, .organization) == nil)
        #expect(try Self.patient(#"{"resourceType":"Patient","link":[{"other":{"reference":"Patient/p9"}}]}"#, .patient) == "r1")
    }

    @Test(arguments: [
        (#"{"reference":"https://other.example/fhir/Patient/p1"}"#, "not a patient on this hub"),
        (#"{"reference":"https://other.example/patients?id=1"}"#, "cannot be resolved"),
        (#"{"reference":"https://other.example/anything"}"#, "not a patient on this hub"),
        (#"{"reference":"urn:uuid:5f1e2c4a-9b7d-4c3e-8a6f-1d2b3c4e5f60"}"#, "cannot be resolved"),
        (#"{"reference":"Patient?identifier=x|1"}"#, "cannot be resolved"),
        (#"{"reference":"Patient/p1/extra"}"#, "cannot be resolved"),
        (##"{"reference":"#pt"}"##, "contained Patient"),
        (##"{"reference":"#nothing"}"##, "not among the contained"),
        (#"{"identifier":{"system":"urn:health-hub:sid:resident-id","value":"11010519491231002X"}}"#, "without a reference"),
        (#"{"display":"张三"}"#, "without a reference"),
        (#"{"type":"Patient","display":"张三"}"#, "without a reference"),
        (#"{"type":"Practitioner","reference":"Patient/p1"}"#, "says type Practitioner"),
        (#""Patient/p1""#, "is not a Reference"),
        (#"{"reference":"PATIENT/p1"}"#, "not a FHIR type"),
    ])
    func referencesThatCannotBeFiledUnderOnePatientAreRefused(subject: String, message: String) throws {
        let text = #"{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"pt"}],"subject":\#(subject)}"#
        let refusal = #expect(throws: PatientCompartment.Refusal.self) {
            try Self.patient(text, .observation)
        }
        #expect(refusal?.element == "Observation.subject[0]")
        #expect(refusal?.message.contains(message) == true, "\(String(describing: refusal))")
    }

    @Test func aRecordBelongsToOnePatient() throws {
        #expect(throws: PatientCompartment.Refusal.self) {
            try Self.patient(
                #"{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"performer":[{"reference":"Patient/p2"}]}"#, .observation)
        }
        #expect(throws: PatientCompartment.Refusal.self) {
            try Self.patient(
                #"{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"https://hub.example/fhir/Patient/p2"}}]}"#,
                .appointment)
        }
        // The same patient named twice, in two forms, is one patient.
        #expect(
            try Self.patient(
                #"{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"performer":[{"reference":"https://hub.example/fhir/Patient/p1"}]}"#,
                .observation) == "p1")
    }

    @Test func anAppointmentsActorsAreItsOnlyLinkAndAnUntypedIdentifierIsRefusedAnywhere() throws {
        for actor in [#"{"display":"张三"}"#, #"{"identifier":{"system":"urn:health-hub:sid:resident-id","value":"11010519491231002X"}}"#] {
            #expect(throws: PatientCompartment.Refusal.self, "\(actor)") {
                try Self.patient(#"{"resourceType":"Appointment","participant":[{"actor":\#(actor)}]}"#, .appointment)
            }
        }
        #expect(throws: PatientCompartment.Refusal.self) {
            try Self.patient(#"{"resourceType":"Schedule","actor":[{"identifier":{"value":"x"}}]}"#, .schedule)
        }
        #expect(
            try Self.patient(#"{"resourceType":"Appointment","participant":[{"actor":{"type":"Location","display":"诊室3"}}]}"#, .appointment) == nil)
    }

    @Test func aParticipantMayBeNamedByTextButNotAsAPatient() throws {
        #expect(
            try Self.patient(
                #"{"resourceType":"DocumentReference","subject":{"reference":"Patient/p1"},"author":[{"display":"李医生"}]}"#, .documentReference)
                == "p1")
        #expect(throws: PatientCompartment.Refusal.self) {
            try Self.patient(#"{"resourceType":"DocumentReference","author":[{"type":"Patient","display":"张三"}]}"#, .documentReference)
        }
    }
}

extension PatientCompartmentTests {
    /// Contained resources are part of the record (issue #14): what they name counts, a
    /// contained Patient is refused wherever it appears, and types the hub does not know are
    /// refused rather than left unread.
    /// A type private to its writer (a Group, a Subscription) is no patient's record, and is
    /// never inside another record, where whoever sees that record would see it.
    @Test func privateTypesBelongToNoPatientAndAreNeverContained() throws {
        #expect(
            try Self.patient(
                #"{"resourceType":"Group","member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p2"}}]}"#, .group) == nil)
        for (text, type) in [
            (
                #"{"resourceType":"Group","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"}}]}"#,
                ResourceType.group
            ),
            (
                #"{"resourceType":"Subscription","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"}}]}"#,
                .subscription
            ),
            (#"{"resourceType":"Slot","contained":[{"resourceType":"Group","id":"g","member":[{"entity":{"reference":"Patient/p1"}}]}]}"#, .slot),
            (#"{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"contained":[{"resourceType":"Group","id":"g"}]}"#, .observation),
            (#"{"resourceType":"Observation","contained":[{"resourceType":"Subscription","id":"s"}]}"#, .observation),
        ] {
            #expect(throws: PatientCompartment.Refusal.self, "\(text)") { try Self.patient(text, type) }
        }
    }

    @Test func containedResourcesAreClassifiedWithTheirContainer() throws {
        // A record naming no patient itself, whose contained result does: the patient's.
        let wrapped =
            #"{"resourceType":"DocumentReference","status":"current","contained":[{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p7"}}],"content":[{"attachment":{"contentType":"text/plain"}}]}"#
        #expect(try Self.patient(wrapped, .documentReference) == "p7")
        let agreeing =
            #"{"resourceType":"Observation","subject":{"reference":"Patient/p7"},"contained":[{"resourceType":"Provenance","id":"v","target":[{"reference":"Patient/p7"}]}]}"#
        #expect(try Self.patient(agreeing, .observation) == "p7")
        for (text, type) in [
            (
                #"{"resourceType":"Observation","subject":{"reference":"Patient/p7"},"contained":[{"resourceType":"Provenance","id":"v","target":[{"reference":"Patient/p8"}]}]}"#,
                ResourceType.observation
            ),
            (
                ##"{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"copy","name":[{"text":"王建国"}]}],"focus":[{"reference":"#copy"}]}"##,
                .observation
            ),
            (#"{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p8"}}]}"#, .patient),
            (#"{"resourceType":"Observation","contained":[{"resourceType":"NotAType","id":"x"}]}"#, .observation),
            (
                #"{"resourceType":"DocumentReference","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"https://other.example/fhir/Patient/p1"}}]}"#,
                .documentReference
            ),
        ] {
            #expect(throws: PatientCompartment.Refusal.self, "\(text)") { try Self.patient(text, type) }
        }
        // A contained participant named by text stays allowed, as at the top level.
        let practitioner =
            ##"{"resourceType":"Observation","subject":{"reference":"Patient/p7"},"contained":[{"resourceType":"Practitioner","id":"dr","name":[{"text":"李医生"}]}],"performer":[{"reference":"#dr"}]}"##
        #expect(try Self.patient(practitioner, .observation) == "p7")
    }
}
