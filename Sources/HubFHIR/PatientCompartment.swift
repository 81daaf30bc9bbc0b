/// Whose record a resource is: the one classification every write goes through.
///
/// A resource is in a patient's compartment when one of its compartment elements — those FHIR
/// R4's CompartmentDefinition "patient" names (``ResourceType/r4PatientCompartment``, generated
/// from the specification), plus the hub's additions — references that Patient. Its patient
/// decides whose data key seals it and who may see it, so the rule is strict: every reference in
/// a compartment element must be one the hub can resolve, and all must agree on one patient.
/// Anything else is refused (422) rather than stored as "no patient", which would make the record
/// visible to every hospital.
public enum PatientCompartment {
    /// One element that links a resource to its patient.
    public struct Element: Sendable, Equatable {
        /// The search parameter the compartment definition names (`performer`).
        public var parameter: String
        /// The element path below the resource (`participant.actor`).
        public var path: String

        public init(parameter: String, path: String) {
            self.parameter = parameter
            self.path = path
        }
    }

    /// The hub's additions to R4's definition. R4 leaves Task out of every compartment; a
    /// referral's Task carries clinical content, so the hub files it under the patient it is for.
    static let additions: [ResourceType: [Element]] = [.task: [Element(parameter: "patient", path: "for")]]

    /// Types R4 puts into the compartment that the hub keeps out of it. A Group names many
    /// patients (`member`): it is no one patient's record but its writer's cohort, private to that
    /// organization (``ResourceType/Definition/isPrivateToWriter``) and sealed under its own key.
    static let exclusions: Set<ResourceType> = [.group]

    /// The elements that put a resource of `type` into a patient's compartment. A Patient is in
    /// its own (its `link`s to other Patients do not move it).
    public static func elements(of type: ResourceType) -> [Element] {
        guard type != .patient, !Self.exclusions.contains(type) else { return [] }
        return type.r4PatientCompartment + (Self.additions[type] ?? [])
    }

    /// A compartment element whose reference the hub cannot file under one patient.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// FHIRPath of the element, e.g. `Observation.performer[1]`.
        public var element: String
        public var message: String
        public var description: String { "\(self.element): \(self.message)" }
    }

    /// The patient `resource` belongs to (a Patient's own id), or nil when it is in no patient's
    /// compartment.
    /// - Throws: ``Refusal`` when a compartment element holds a reference that may name a patient
    ///   but cannot be resolved to one here (another server's Patient, a contained Patient, a
    ///   `urn:`, a conditional reference, an identifier or type `Patient` without a reference),
    ///   or when the elements name two different patients.
    ///
    /// Contained resources are part of the record: their compartment elements count as the
    /// container's (they must name the same patient), and a contained Patient is refused — a
    /// copy of a patient's particulars inside a record that names no registered patient would
    /// be visible to everyone.
    public static func patient(of resource: JSONObject, type: ResourceType, id: String) throws(Refusal) -> String? {
        var patient: (id: String, element: String)? = type == .patient ? (id, "\(type.rawValue).id") : nil
        func found(_ candidate: String, at location: String) throws(Refusal) {
            if let patient, patient.id != candidate {
                throw Refusal(
                    element: location,
                    message: "names a second patient (\(patient.element) names another): a record belongs to one patient's record"
                )
            }
            patient = (candidate, location)
        }
        try Self.visit(resource, type: type, container: resource, prefix: type.rawValue, found)
        for (index, contained) in (resource["contained"]?.arrayValue ?? []).enumerated() {
            let location = "\(type.rawValue).contained[\(index)]"
            guard let object = contained.objectValue, let name = object["resourceType"]?.stringValue, let containedType = ResourceType(rawValue: name)
            else {
                // Types the hub does not store have no compartment elements it knows: refused
                // rather than left unread.
                throw Refusal(element: location, message: "is not a resource type this hub stores")
            }
            if containedType == .patient {
                throw Refusal(element: location, message: "a contained Patient is not accepted: register the patient and reference Patient/<id>")
            }
            // Inside another record it would be seen by whoever sees that record.
            if containedType.definition.isPrivateToWriter {
                throw Refusal(
                    element: location, message: "a contained \(name) is not accepted: it is its writer's own; write it and reference \(name)/<id>")
            }
            try Self.visit(object, type: containedType, container: resource, prefix: "\(location)(\(name))", found)
        }
        // A type private to its writer is no patient's record: filed under one, it would be seen
        // by whoever sees that patient's records.
        if let patient, type.definition.isPrivateToWriter {
            throw Refusal(
                element: patient.element, message: "names a patient: a \(type.rawValue) is its writer's own and belongs to no patient's record")
        }
        return patient?.id
    }

    /// Calls `found` with each patient the compartment elements of `resource` name.
    static func visit(
        _ resource: JSONObject, type: ResourceType, container: JSONObject, prefix: String,
        _ found: (String, String) throws(Refusal) -> Void
    ) throws(Refusal) {
        for element in Self.elements(of: type) {
            let steps = element.path.split(separator: ".").map(String.init)
            for (index, value) in JSONValue.object(resource).values(at: steps).enumerated() {
                let location = "\(prefix).\(element.path)[\(index)]"
                // The record's subject — or, for an Appointment, its actors, its only link.
                let isSubject = element.parameter == "subject" || element.parameter == "patient" || type == .appointment
                guard let patient = try Self.patient(named: value, in: container, at: location, isSubject: isSubject) else { continue }
                try found(patient, location)
            }
        }
    }

    /// The patient a stored resource belongs to, for what reads report (the audit trail): the
    /// first patient its compartment elements name. Stored resources passed ``patient(of:type:id:)``.
    public static func storedPatient(of resource: JSONObject, type: ResourceType, id: String) -> String? {
        if type == .patient { return id }
        for element in Self.elements(of: type) {
            let steps = element.path.split(separator: ".").map(String.init)
            for value in JSONValue.object(resource).values(at: steps) {
                if case .resource("Patient", let patient) = ReferenceTarget(value.objectValue?["reference"]?.stringValue) { return patient }
            }
        }
        return nil
    }

    /// The Patient id one Reference in a compartment element names; nil when it names something
    /// else.
    /// - Parameter isSubject: Whether the element is the record's subject (`subject`, `patient`)
    ///   rather than a participant.
    static func patient(named value: JSONValue, in resource: JSONObject, at location: String, isSubject: Bool) throws(Refusal) -> String? {
        guard let reference = value.objectValue else {
            throw Refusal(element: location, message: "is not a Reference")
        }
        let declaredType = reference["type"]?.stringValue
        func refuse(_ message: String) -> Refusal { Refusal(element: location, message: message) }
        switch ReferenceTarget(reference["reference"]?.stringValue) {
        case .resource(let type, let id):
            if let declaredType, declaredType != type {
                throw refuse("says type \(declaredType) but references a \(type)")
            }
            if type != "Patient", type.lowercased() == "patient" {
                throw refuse("\(type) is not a FHIR type: reference the patient as Patient/<id>")
            }
            return type == "Patient" ? id : nil
        case .contained(let id):
            let contained = resource["contained"]?.arrayValue?.first { $0.objectValue?["id"]?.stringValue == id }
            guard let contained else { throw refuse("references #\(id), which is not among the contained resources") }
            if contained.objectValue?["resourceType"]?.stringValue == "Patient" {
                throw refuse("a contained Patient cannot own a record: reference the registered patient as Patient/<id>")
            }
            return nil
        case .external(let url, let type):
            if type == "Patient" || declaredType == "Patient" || type == nil {
                throw refuse("\(url) is not a patient on this hub: reference the patient as Patient/<id> (or by this hub's base URL)")
            }
            return nil
        case .unresolvable(let text):
            throw refuse("\(text.prefix(80)) cannot be resolved here: reference the patient as Patient/<id>")
        case .none:
            // The record's subject must be resolvable; a participant (performer, author, actor)
            // may be named by text alone, unless it says it is a Patient; an identifier without a
            // type may be a patient's anywhere.
            if declaredType == "Patient" || declaredType == nil && (reference["identifier"] != nil || isSubject && reference["display"] != nil) {
                throw refuse("names a patient without a reference: look the patient up (Patient?identifier=…) and reference Patient/<id>")
            }
            return nil
        }
    }
}
