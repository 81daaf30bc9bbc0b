import Foundation
public import HubAudit
import HubFHIR
public import HubHL7
public import HubResources

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
        /// What was stored (empty unless AA).
        public var stored: [StoredResource]
    }

    public func receive(_ text: String, access: RecordAccess, audit: AuditContext) async throws -> Outcome {
        let controlID = UUID().uuidString.lowercased()
        var parsed: HL7Message?
        do {
            let message = try HL7Message(parsing: text)
            parsed = message
            let report = try LabReportMessage(message)
            let patient = try await self.patient(of: report, access: access)
            let performer = "Organization/\(access.organization ?? audit.caller.organization ?? "unknown")"
            let resources = try report.resources(patient: patient, performer: performer) { UUID().uuidString.lowercased() }
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
            return Outcome(acknowledgement: ack.encoded(answering: parsed, controlID: controlID), code: ack.code, stored: [])
        } catch let error as ResourceError {
            // The store refused the content (no access to the patient's records, a conflict):
            // an AE the sender can act on, on HTTP and MLLP alike. Only storage failures throw.
            let location = error.code == .forbidden ? HL7Error(.applicationError, segment: "PID", field: 3, error.diagnostics)
                : HL7Error(.applicationError, error.diagnostics)
            let ack = HL7Acknowledgement(location)
            return Outcome(acknowledgement: ack.encoded(answering: parsed, controlID: controlID), code: ack.code, stored: [])
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
        throw HL7Error(.unknownKeyIdentifier, segment: "PID", sequence: pid?.sequence, field: 3, "no patient with this resident ID number that the sender may see")
    }
}
