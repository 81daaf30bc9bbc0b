/// Resources for structure validation tests: the smallest valid instance of each type the hub
/// stores, and broken ones with the element at fault. Shared by the hub's own tests and the
/// cross-check against fhir.resources, so both judge the same documents.
public enum StructureFixtures {
    /// One minimal valid resource per supported type (every required element, nothing else).
    public static let minimal: [String] = [
        #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:resident-id","value":"11010519491231002X"}]}"#,
        #"{"resourceType":"Practitioner","name":[{"text":"李伟"}]}"#,
        #"{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/p1"}}"#,
        #"{"resourceType":"Organization","name":"市第一人民医院"}"#,
        #"{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}"#,
        #"{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"Procedure","status":"completed","subject":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"text":"阿莫西林"},"subject":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}}"#,
        #"{"resourceType":"DiagnosticReport","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24323-8"}]}}"#,
        #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","data":"5L2g5aW9"}}]}"#,
        #"{"resourceType":"Composition","status":"final","type":{"text":"出院小结"},"date":"2026-11-30","author":[{"reference":"Practitioner/p1"}],"title":"出院小结"}"#,
        #"{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}"#,
        #"{"resourceType":"Schedule","actor":[{"reference":"Practitioner/p1"}]}"#,
        #"{"resourceType":"Slot","schedule":{"reference":"Schedule/s1"},"status":"free","start":"2026-12-01T09:00:00+08:00","end":"2026-12-01T09:15:00+08:00"}"#,
        #"{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"Task","status":"rejected","intent":"order"}"#,
        #"{"resourceType":"Consent","status":"active","scope":{"text":"patient-privacy"},"category":[{"text":"治疗"}]}"#,
        #"{"resourceType":"Provenance","target":[{"reference":"Patient/p1"}],"recorded":"2026-11-30T10:00:00.123+08:00","agent":[{"who":{"reference":"Organization/o1"}}]}"#,
        #"{"resourceType":"Patient","gender":"female","birthDate":"1949-12-31","_birthDate":{"extension":[{"url":"http://example.org/x","valueString":"农历"}]},"multipleBirthInteger":2}"#,
        #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"valueQuantity":{"value":5.6,"unit":"mmol/L"},"effectiveDateTime":"2026-11-30T08:00:00+08:00","contained":[{"resourceType":"Patient","gender":"male"}]}"#,
    ]

    /// A broken resource: `expression` is the element the hub must name.
    public struct Broken: Sendable, CustomStringConvertible {
        public var json: String
        public var expression: String
        public var description: String { self.expression }
    }

    public static let broken: [Broken] = [
        .init(json: #"{"resourceType":"Patient","shoeSize":42}"#, expression: "Patient.shoeSize"),
        .init(json: #"{"resourceType":"Patient","name":{"family":"王"}}"#, expression: "Patient.name"),
        .init(json: #"{"resourceType":"Patient","gender":"M"}"#, expression: "Patient.gender"),
        .init(json: #"{"resourceType":"Patient","birthDate":"2023-02-29"}"#, expression: "Patient.birthDate"),
        .init(json: #"{"resourceType":"Patient","active":"yes"}"#, expression: "Patient.active"),
        .init(json: #"{"resourceType":"Patient","multipleBirthInteger":3000000000}"#, expression: "Patient.multipleBirthInteger"),
        .init(json: #"{"resourceType":"Patient","identifier":[{"period":{"start":"yesterday"}}]}"#, expression: "Patient.identifier[0].period.start"),
        .init(json: #"{"resourceType":"Patient","_gender":{"colour":"red"}}"#, expression: "Patient._gender.colour"),
        .init(json: #"{"resourceType":"Observation","code":{"text":"血糖"}}"#, expression: "Observation.status"),
        .init(json: #"{"resourceType":"Observation","status":"final"}"#, expression: "Observation.code"),
        .init(json: #"{"resourceType":"Observation","status":"done","code":{"text":"血糖"}}"#, expression: "Observation.status"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"valueQuantity":{"value":5.6},"valueString":"5.6"}"#,
            expression: "Observation.valueString"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"valueQuantity":{"value":"5.6"}}"#,
            expression: "Observation.valueQuantity.value"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"effectiveDateTime":"2026-11-30T08:00"}"#,
            expression: "Observation.effectiveDateTime"),
        .init(json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"issued":"2026-11-30"}"#, expression: "Observation.issued"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"subject":{"reference":"Practitioner/p1"}}"#,
            expression: "Observation.subject.reference"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"contained":[{"resourceType":"Patient","gender":"x"}]}"#,
            expression: "Observation.contained[0].gender"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"valueQuantity":{"value":1,"comparator":"≈"}}"#,
            expression: "Observation.valueQuantity.comparator"),
        .init(json: #"{"resourceType":"Encounter","status":"finished","class":[{"code":"AMB"}]}"#, expression: "Encounter.class"),
        .init(json: #"{"resourceType":"Encounter","status":"finished"}"#, expression: "Encounter.class"),
        .init(
            json: #"{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"}}"#,
            expression: "MedicationRequest.medication[x]"),
        .init(
            json: #"{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/p1"}}]}"#,
            expression: "Appointment.participant[0].status"),
        .init(
            json: #"{"resourceType":"Appointment","status":"booked","minutesDuration":0,"participant":[{"status":"accepted"}]}"#,
            expression: "Appointment.minutesDuration"),
        .init(
            json: #"{"resourceType":"Slot","schedule":{"reference":"Schedule/s1"},"status":"free","start":"2026-12-01T09:00:00+08:00"}"#,
            expression: "Slot.end"),
        .init(json: #"{"resourceType":"Task","status":"finished","intent":"order"}"#, expression: "Task.status"),
        .init(
            json: #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"data":"not base64!"}}]}"#,
            expression: "DocumentReference.content[0].attachment.data"),
        .init(
            json:
                #"{"resourceType":"Provenance","target":[{"reference":"Patient/p1"}],"recorded":"2026-11-30T10:00:00+08:00","agent":[{"role":[{"text":"x"}]}]}"#,
            expression: "Provenance.agent[0].who"),
        .init(
            json: #"{"resourceType":"Consent","status":"active","scope":{"text":"x"},"category":[{"text":"x"}],"extension":[{"valueString":"x"}]}"#,
            expression: "Consent.extension[0].url"),
    ]
}
