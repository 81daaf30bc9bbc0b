package import Foundation
package import HubFHIR

/// What a write tells access control (``RecordAccess``): the care relationship a resource
/// establishes, and the sharing rules of a patient's Consent. The store keeps both in the write's
/// transaction, so a decision never sees a record without the facts that go with it.
package struct AccessFacts: Sendable {
    /// A care relationship: `organization` treats `patient` on the strength of `basis`.
    package struct Care: Sendable, Equatable {
        package var patient: String
        package var organization: String
        package var basis: String

        package init(patient: String, organization: String, basis: String) {
            self.patient = patient
            self.organization = organization
            self.basis = basis
        }
    }

    /// One rule of a Consent: permit or deny sharing with an organization (nil: everyone).
    package struct ConsentRule: Sendable, Equatable {
        package var patient: String
        package var organization: String?
        package var permit: Bool
        package var start: Date?
        package var end: Date?
        /// When the rule was first recorded: kept when a new version of the Consent states it
        /// unchanged (re-saving does not make a decision newer); nil for now.
        package var recordedAt: Date?
    }

    /// The resource the facts come from (`Type/id`); a new version replaces its facts.
    package var source: String
    package var care: Care?
    /// An appointment's Slots: the organizations that published them treat the patient too
    /// (a booking at another hospital relates that hospital). Resolved in SQL, in the write's
    /// statement.
    package var bookedSlots: (patient: String, slots: [String])?
    /// Records shared with an organization: `(type, id, organization)`.
    package var shares: [(type: String, id: String, organization: String)] = []
    package var consentRules: [ConsentRule] = []
    /// The organization that recorded the Consent the rules come from.
    package var consentRecorder: String?

    package init(source: String, care: Care?, consentRules: [ConsentRule] = []) {
        self.source = source
        self.care = care
        self.consentRules = consentRules
    }

    /// Statuses under which an encounter, appointment or referral no longer relates anyone.
    package static let inactiveStatuses: Set<String> = ["cancelled", "entered-in-error", "noshow", "rejected", "failed"]
    /// Task statuses meaning the owner took the referral on.
    package static let acceptedTaskStatuses: Set<String> = ["accepted", "in-progress", "on-hold", "completed"]

    /// The facts of `resource` (version 1 when `creating`), written by a caller of `writer`;
    /// `emergency` when the caller writes under break-glass for this patient — an emergency leaves
    /// nothing lasting behind, so what is written under it relates the writer to no one.
    package init(_ resource: JSONObject, type: ResourceType, id: String, patient: String?, writer: String?, creating: Bool, emergency: Bool) {
        self.source = "\(type.rawValue)/\(id)"
        // Nothing written under an emergency tells access control anything: no relationship, no
        // booking, no share, no consent rule — else the emergency would outlive its token.
        guard !emergency else { return }
        let status = resource["status"]?.stringValue ?? ""
        switch type {
        case .patient:
            // Registering the patient relates the registering organization; the basis is not
            // this resource, so later versions and other organizations' registrations keep it.
            if creating, let writer { self.care = Care(patient: id, organization: writer, basis: "registration") }
        case .encounter, .appointment:
            if let patient, let writer, !Self.inactiveStatuses.contains(status) {
                self.care = Care(patient: patient, organization: writer, basis: self.source)
            }
            if type == .appointment, let patient, !Self.inactiveStatuses.contains(status) {
                let slots = (resource["slot"]?.arrayValue ?? []).compactMap { $0.referencedID("Slot") }
                if !slots.isEmpty { self.bookedSlots = (patient, slots) }
            }
        case .task:
            // A referral's Task is visible to its owner from the start (its ServiceRequest is
            // shared by naming the owner as performer — never through the Task's basedOn, which
            // could name another patient's request); accepted, it relates the owner to the
            // patient, whoever wrote the Task.
            if let organization = resource["owner"]?.referencedID("Organization") {
                self.shares.append((type.rawValue, id, organization))
                if let patient, Self.acceptedTaskStatuses.contains(status) {
                    self.care = Care(patient: patient, organization: organization, basis: self.source)
                }
            }
        case .serviceRequest:
            // A request addressed to organizations (a referral's performer) is visible to them.
            for organization in (resource["performer"]?.arrayValue ?? []).compactMap({ $0.referencedID("Organization") }) {
                self.shares.append((type.rawValue, id, organization))
            }
        case .consent:
            if let patient, status == "active" {
                self.consentRules = Self.rules(of: resource, patient: patient)
                self.consentRecorder = writer
            }
        default:
            break
        }
    }

    /// The rules of an active Consent: its root provision and each nested one, each a permit or
    /// deny for its actors that are organizations (none: everyone), within the provision's
    /// period (or the root's). A provision without a type is a deny: sharing is what must be
    /// stated.
    package static func rules(of consent: JSONObject, patient: String) -> [ConsentRule] {
        guard let root = consent["provision"]?.objectValue else { return [] }
        var rules: [ConsentRule] = []
        func add(_ provision: JSONObject, inherited: (Date?, Date?)) {
            let period = provision["period"]?.objectValue
            let start = period?["start"]?.stringValue.flatMap(FHIRDateRange.init)?.low ?? inherited.0
            let end = period?["end"]?.stringValue.flatMap(FHIRDateRange.init)?.high ?? inherited.1
            let permit = provision["type"]?.stringValue == "permit"
            let actors = provision["actor"]?.arrayValue ?? []
            let organizations = actors.compactMap { $0.objectValue?["reference"]?.referencedID("Organization") }
            let states = provision["type"] != nil || !actors.isEmpty || provision["provision"] == nil
            // A provision about other actors only (a practitioner, a relative) says nothing about
            // organizations: it must not widen into a rule for everyone.
            let aboutOthersOnly = !actors.isEmpty && organizations.isEmpty
            if states && !aboutOthersOnly {
                if organizations.isEmpty {
                    rules.append(ConsentRule(patient: patient, organization: nil, permit: permit, start: start, end: end))
                } else {
                    for organization in organizations {
                        rules.append(ConsentRule(patient: patient, organization: organization, permit: permit, start: start, end: end))
                    }
                }
            }
            for nested in provision["provision"]?.arrayValue ?? [] {
                if let nested = nested.objectValue { add(nested, inherited: (start, end)) }
            }
        }
        add(root, inherited: (nil, nil))
        return rules
    }

    /// Why a Consent cannot be stored (422), or nil: every provision's period must run forward,
    /// and every actor must be a reference the hub resolves (`Type/id`) — an actor the rules
    /// cannot read would silently drop a denial (fail open).
    package static func consentProblem(_ consent: JSONObject) -> (String, String)? {
        guard let root = consent["provision"]?.objectValue else { return nil }
        // The range each rule takes effect in, as ``rules(of:patient:)`` computes it: a nested
        // provision inherits what its own period leaves open.
        func check(_ provision: JSONObject, path: String, inherited: (Date?, Date?) = (nil, nil)) -> (String, String)? {
            let period = provision["period"]?.objectValue
            let start = period?["start"]?.stringValue.flatMap(FHIRDateRange.init)?.low ?? inherited.0
            let end = period?["end"]?.stringValue.flatMap(FHIRDateRange.init)?.high ?? inherited.1
            if let start, let end, start >= end {
                return (
                    "\(path).period",
                    "a Consent provision's period (with what it inherits from the provision around it) must not end before it starts"
                )
            }
            for (index, actor) in (provision["actor"]?.arrayValue ?? []).enumerated() {
                let reference = actor.objectValue?["reference"]?.objectValue?["reference"]?.stringValue ?? ""
                let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, ResourceType(rawValue: String(parts[0])) != nil, FHIRPrimitive.isID(String(parts[1])) else {
                    return (
                        "\(path).actor[\(index)].reference",
                        "a Consent actor must be a reference to a resource on this hub (Organization/<id>): one it cannot resolve would not take effect"
                    )
                }
            }
            for (index, nested) in (provision["provision"]?.arrayValue ?? []).enumerated() {
                if let nested = nested.objectValue, let problem = check(nested, path: "\(path).provision[\(index)]", inherited: (start, end)) {
                    return problem
                }
            }
            return nil
        }
        return check(root, path: "Consent.provision")
    }
}
