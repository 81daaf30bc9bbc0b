import Foundation
public import HubAuditCore
public import HubFHIR
public import HubHL7
public import HubResourcesCore

/// Lab results arriving as HL7 v2 ORU^R01 messages: parsed, their patient found by the resident
/// ID number in PID-3 among the patients the sending organization may see, mapped to a
/// DiagnosticReport and its Observations (LOINC codes, UCUM units, reference ranges,
/// interpretation flags, the sender as performer), validated, and stored in one transaction —
/// all or nothing. The answer is always an ACK: AA when stored, AE or AR naming the segment and
/// field at fault.
public struct LabResultIntake: Sendable {
    let store: any ResourceStore
    let validator: ResourceValidator
    let patients: PatientDirectory

    public init(store: any ResourceStore, validator: ResourceValidator) {
        self.store = store
        self.validator = validator
        self.patients = PatientDirectory(store: store, residentIDSystem: validator.identifierSystems.residentID)
    }

    public struct Outcome: Sendable {
        /// The ACK, ER7-encoded.
        public var acknowledgement: String
        public var code: HL7Acknowledgement.Code
        /// For a message not accepted: why, as a FHIR issue type (the audit trail's terms).
        public var issue: OperationOutcome.Issue.IssueType?
        /// What was stored (empty unless AA; empty too for a message received before).
        public var stored: [StoredResource]
        /// The character set of the message, which the ACK is sent back in.
        public var characterSet: HL7CharacterSet = .utf8

        /// The ACK's bytes, in the message's character set.
        public var acknowledgementBytes: [UInt8] { self.characterSet.encode(self.acknowledgement) }
    }

    /// Identifies a lab's messages: DiagnosticReports stored from one carry
    /// `<system for the sender>|<MSH-10>/<n>` (the n-th report of the message), so that a message
    /// sent again (its ACK was lost) is recognised and not stored twice.
    public static func messageIdentifierSystem(sender: String) -> String { "urn:health-hub:hl7v2:\(sender):msh-10" }

    /// Receives one message as it came over the wire (its MSH-18 says how to read the bytes).
    public func receive(_ bytes: [UInt8], access: RecordAccess, audit: AuditContext) async throws -> Outcome {
        let controlID = UUID().uuidString.lowercased()
        let text: String
        let characterSet: HL7CharacterSet
        do {
            (text, characterSet) = try HL7CharacterSet.decode(bytes)
        } catch {
            let ack = HL7Acknowledgement(error)
            return Outcome(
                acknowledgement: ack.encoded(answering: nil, controlID: controlID), code: ack.code, issue: error.condition.issueType, stored: [])
        }
        var outcome = try await self.receive(text, access: access, audit: audit, controlID: controlID)
        outcome.characterSet = characterSet
        return outcome
    }

    func receive(_ text: String, access: RecordAccess, audit: AuditContext, controlID: String) async throws -> Outcome {
        var parsed: HL7Message?
        do {
            let message = try HL7Message(parsing: text)
            parsed = message
            let report = try LabReportMessage(message)
            let patient = try await self.patient(of: report, access: access)
            let sender = access.organization ?? audit.caller.organization ?? "unknown"
            let performer = "Organization/\(sender)"
            var resources = try report.resources(patient: patient, performer: performer) { UUID().uuidString.lowercased() }
            if let messageID = message.segments.first(where: { $0.id == "MSH" }).flatMap({ message.value($0, 10) }) {
                let system = Self.messageIdentifierSystem(sender: sender)
                let query = try SearchQuery(
                    type: .diagnosticReport, parameters: [("identifier", "\(system)|\(messageID)/1"), ("_count", "1")], lenient: false)
                if !(try await self.store.search(query, access: access).resources.isEmpty) {
                    let ack = HL7Acknowledgement(code: .accepted, text: "message \(messageID) was received and stored before; not stored again")
                    return Outcome(acknowledgement: ack.encoded(answering: message, controlID: controlID), code: .accepted, stored: [])
                }
                var number = 0
                for index in resources.indices where resources[index].type == .diagnosticReport {
                    number += 1
                    var identifiers = resources[index].resource["identifier"]?.arrayValue ?? []
                    identifiers.append(.object(JSONObject([("system", .string(system)), ("value", .string("\(messageID)/\(number)"))])))
                    resources[index].resource["identifier"] = .array(identifiers)
                }
            }
            var operations: [WriteOperation] = []
            for (type, id, resource) in resources {
                do {
                    operations.append(.create(type, id: id, try self.validator.validate(.object(resource), as: type, expectedID: nil)))
                } catch {
                    throw HL7Error(.dataTypeError, "the mapped \(type.rawValue) is not valid FHIR: \(error.diagnostics)")
                }
            }
            let stored = try await self.store.transaction(operations, access: access, audit: audit)
            let reports = stored.filter { $0.type == .diagnosticReport }.count
            let ack = HL7Acknowledgement(code: .accepted, text: "stored \(reports) report(s) with \(stored.count - reports) result(s)")
            return Outcome(acknowledgement: ack.encoded(answering: message, controlID: controlID), code: .accepted, stored: stored)
        } catch let error as HL7Error {
            let ack = HL7Acknowledgement(error)
            return Outcome(
                acknowledgement: ack.encoded(answering: parsed, controlID: controlID), code: ack.code, issue: error.condition.issueType, stored: [])
        } catch let error as ResourceError {
            // The store refused the content (no access to the patient's records, a conflict):
            // an AE the sender can act on, on HTTP and MLLP alike. Only storage failures throw.
            let location =
                error.code == .forbidden
                ? HL7Error(.applicationError, segment: "PID", field: 3, error.diagnostics)
                : HL7Error(.applicationError, error.diagnostics)
            let ack = HL7Acknowledgement(location)
            return Outcome(acknowledgement: ack.encoded(answering: parsed, controlID: controlID), code: ack.code, issue: error.issueType, stored: [])
        }
    }

    /// The patient whose resident ID number PID-3 carries, among those the sender may see.
    func patient(of report: LabReportMessage, access: RecordAccess) async throws -> String {
        let pid = report.message.segments("PID").first
        let numbers = report.patientIdentifiers.map(\.value).filter { ResidentIDNumber.problem(with: $0) == nil }
        guard !numbers.isEmpty else {
            throw HL7Error(.requiredFieldMissing, segment: "PID", sequence: pid?.sequence, field: 3, "PID-3 carries no valid resident ID number")
        }
        for number in numbers {
            if let found = try await self.patients.patient(residentID: number, access: access) { return found }
        }
        throw HL7Error(
            .unknownKeyIdentifier, segment: "PID", sequence: pid?.sequence, field: 3,
            "no patient with this resident ID number that the sender may see")
    }
}
