import Foundation
import HubAudit
import HubConfig
import HubCrypto
import HubFHIR
import HubKeys
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// What a write may touch, registration, and the patients a request aimed at (for the trail).
extension PostgresResourceStore {
    public func register(patientID: String, access: RecordAccess) async throws {
        access.targets?.note(patientID)
        try access.requireWriter()
        guard let organization = access.organization else { return }
        var sql = SQLBuilder()
        let members = AccessFacts.insertions(
            [AccessFacts(source: "Patient/\(patientID)", care: .init(patient: patientID, organization: organization, basis: "registration"))],
            sql: &sql)
        let logger = self.logger
        let statement = sql.query("WITH " + members.joined(separator: ",\n") + "\nSELECT 1")
        try await self.database.withConnection("register patient") { connection in
            try await connection.run(statement, logger: logger)
        }
    }

    /// For the audit trail only: notes the patient of `type/id` when the caller could not have
    /// it — missing, invisible or deleted alike, so that the refusal appears in that patient's
    /// access history. Nothing of it reaches the caller; both kinds of miss cost this one query.
    func noteTarget(_ type: ResourceType, _ id: String, access: RecordAccess) async {
        guard let targets = access.targets else { return }
        var sql = SQLBuilder()
        let text = "SELECT patient_id FROM resources WHERE type = \(sql.bind(type.rawValue)) AND id = \(sql.bind(id))"
        let statement = sql.query(text)
        let logger = self.logger
        do {
            let patient = try await self.database.withConnection("note audit target") { connection in
                let rows = try await connection.query(statement, logger: logger)
                for try await row in rows { return try row.decode(String?.self) }
                return nil
            }
            targets.note(patient)
        } catch {
            // The request fails anyway; its record then names no patient.
            logger.warning("the patient of a refused request could not be looked up", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// A restricted caller writes only where it may see: every resource it changes, and the
    /// patient of every resource it creates or moves to another patient (unless the same writes
    /// create that patient). A record shared with the caller (a referral addressed to it) may be
    /// changed without seeing the rest of the patient's records.
    /// A resource outside every patient compartment (a Slot, a Schedule, an Organization) is
    /// changed only by the organization that published it — or as what a permitted write
    /// entails (``RecordAccess/entailedWrites``: a booking takes another hospital's Slot).
    /// Checked before the transaction; a consent withdrawn meanwhile applies from the next write.
    func checkWritable(_ writes: [PreparedWrite], access: RecordAccess) async throws {
        var changed: [String] = []
        var changedKeys: (types: [String], ids: [String]) = ([], [])
        var creating: Set<String> = []
        for write in writes {
            try access.require(write.type, write: true)
            switch write.kind {
            case .create where write.type == .patient: creating.insert(write.id)
            case .create: break
            case .update, .delete:
                changed.append("\(write.type.rawValue)/\(write.id)")
                changedKeys.types.append(write.type.rawValue)
                changedKeys.ids.append(write.id)
            }
        }
        let candidates = Set(writes.compactMap { $0.type == .patient ? nil : $0.patient }).subtracting(creating)
        guard access.rule != .unrestricted, !changed.isEmpty || !candidates.isEmpty else { return }
        var sql = SQLBuilder()
        let condition = RecordAccess(access.rule).isVisible("r", sql: &sql)
        // Probes of the primary key (type, id), not one condition over `type || '/' || id`: that
        // expression has no index, and every write scanned the whole table with it.
        //
        // Prepared once per connection: the access rule makes planning cost far more than
        // running it. A single key is bound as a scalar rather than a one-element array:
        // PostgreSQL keeps a prepared statement's generic plan only when it is estimated no
        // dearer than the plans made for the values, and it guesses several elements for an
        // array it cannot see, so with arrays it planned every write's check (0.8 ms) anew.
        var probes: [String] = []
        let select = "SELECT r.type || '/' || r.id, (\(condition)), r.patient_id, r.organization"
        switch changedKeys.ids.count {
        case 0: break
        case 1:
            probes.append(
                "\(select) FROM resources r WHERE r.type = \(sql.bind(changedKeys.types[0])) AND r.id = \(sql.bind(changedKeys.ids[0]))")
        default:
            probes.append(
                """
                \(select) FROM unnest(\(sql.bind(changedKeys.types))::text[], \(sql.bind(changedKeys.ids))::text[]) AS k(type, id)
                JOIN resources r ON r.type = k.type AND r.id = k.id
                """)
        }
        let candidateList = candidates.sorted()
        switch candidateList.count {
        case 0: break
        case 1:
            probes.append("\(select) FROM resources r WHERE r.type = 'Patient' AND r.id = \(sql.bind(candidateList[0])) AND NOT r.deleted")
        default:
            probes.append("\(select) FROM resources r WHERE r.type = 'Patient' AND r.id = ANY(\(sql.bind(candidateList))) AND NOT r.deleted")
        }
        let statement = sql.reusable(probes.joined(separator: "\nUNION ALL\n"))
        let logger = self.logger
        let rows = try await self.database.withConnection("check access") { connection in
            let rows = try await connection.query(statement, logger: logger)
            var found: [String: (visible: Bool, patient: String?, owner: String?)] = [:]
            for try await (key, allowed, patient, owner) in rows.decode((String, Bool, String?, String?).self) {
                found[key] = (allowed, patient, owner)
            }
            return found
        }
        access.targets?.note(changed.compactMap { rows[$0]?.patient })
        for key in changed {
            // Missing and invisible answer alike, before anything else is checked.
            guard let row = rows[key], row.visible else { throw ResourceError(.notFound, .notFound, "\(key) does not exist") }
            // A Consent records what the patient decided where they decided it, and a Patient is
            // the registration every hospital relies on: only the organization that wrote it
            // changes or removes it (others record a new Consent).
            if key.hasPrefix("Consent/") || key.hasPrefix("Patient/"), row.owner != access.organization {
                throw ResourceError(.forbidden, .forbidden, "\(key) was recorded by another organization: only it changes it")
            }
            if row.patient == nil, row.owner != access.organization, !access.entailedWrites.contains(key) {
                throw ResourceError(.forbidden, .forbidden, "\(key) is published by another organization: only it changes it")
            }
        }
        // A record stays in its patient's compartment: it never leaves for "no patient" (which
        // would make it visible to everyone), and only its author files it under another patient.
        for write in writes {
            guard case .update = write.kind, let row = rows["\(write.type.rawValue)/\(write.id)"], let before = row.patient, before != write.patient
            else { continue }
            guard write.patient != nil else {
                throw ResourceError(
                    .unprocessable, .businessRule,
                    "\(write.type.rawValue)/\(write.id) belongs to a patient's record: an update must keep naming its patient"
                )
            }
            guard row.owner == access.organization else {
                throw ResourceError(
                    .forbidden, .forbidden, "only the organization that wrote \(write.type.rawValue)/\(write.id) files it under another patient")
            }
        }
        var patients: Set<String> = []
        for write in writes where write.type != .patient {
            guard let patient = write.patient, !creating.contains(patient) else { continue }
            if case .create = write.kind {
                patients.insert(patient)
            } else if rows["\(write.type.rawValue)/\(write.id)"]?.patient != patient {
                patients.insert(patient)
            }
        }
        for patient in patients.sorted() where rows["Patient/\(patient)"]?.visible != true {
            throw ResourceError(
                .forbidden, .forbidden,
                "no access to the records of Patient/\(patient): the organization has no care relationship or consent for this patient"
            )
        }
    }
}
