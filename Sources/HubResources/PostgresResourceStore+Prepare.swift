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

/// A write prepared outside the transaction: sealed under the patient's data key, its search
/// entries blind-indexed, its access facts and unique identifiers worked out — everything that
/// needs the key store, so the transaction only writes rows.
extension PostgresResourceStore {
    /// A write with everything that needs the key store done.
    struct PreparedWrite: Sendable {
        enum Kind: Sendable {
            case create(StoredResource, sealed: ByteBuffer)
            case update(JSONObject, ifMatch: Int?)
            case delete
        }
        var type: ResourceType
        var id: String
        var kind: Kind
        var patient: String?
        /// The organization of the caller writing.
        var organization: String?
        var subject: String
        var entries: SearchIndexer.Entries?
        /// What the new version tells access control (nil for a deletion).
        var facts: AccessFacts?
        var unique: [(String, String)]
    }

    func prepare(_ write: ClassifiedWrite, writer: String?, emergencyPatient: String?) async throws -> PreparedWrite {
        let patient = write.patient
        let emergency = patient != nil && patient == emergencyPatient
        let subject = write.subject ?? ""
        switch write.operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let now = Date().wholeMilliseconds
            let (stored, body) = WriteClassifier.stamp(resource, type: type, id: id, version: 1, at: now, patient: patient)
            let sealed = ByteBuffer(
                bytes: try await self.ring.seal(JSONValue.object(body).serialized(), subject: subject, context: Self.context(type, id, 1)))
            let entries = try await self.indexer.entries(for: body, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .create(stored, sealed: sealed), patient: patient, organization: writer, subject: subject,
                entries: entries,
                facts: AccessFacts(body, type: type, id: id, patient: patient, writer: writer, creating: true, emergency: emergency),
                unique: self.uniqueTokens(entries, type: type)
            )
        case .update(let type, let id, let resource, let ifMatch):
            // The data key must be cached before the transaction holds row locks.
            try await self.ring.prepareDataKey(for: subject)
            let entries = try await self.indexer.entries(for: resource, type: type)
            return PreparedWrite(
                type: type, id: id, kind: .update(resource, ifMatch: ifMatch), patient: patient, organization: writer, subject: subject,
                entries: entries,
                facts: AccessFacts(resource, type: type, id: id, patient: patient, writer: writer, creating: false, emergency: emergency),
                unique: self.uniqueTokens(entries, type: type)
            )
        case .delete(let type, let id):
            return PreparedWrite(
                type: type, id: id, kind: .delete, patient: nil, organization: writer, subject: "", entries: nil, facts: nil, unique: [])
        }
    }

    /// The (system, blind value) pairs of a Patient's identifiers that must be unique, each
    /// once (a Patient may list the same number twice, say with another `use`).
    private func uniqueTokens(_ entries: SearchIndexer.Entries, type: ResourceType) -> [(String, String)] {
        guard type == .patient else { return [] }
        var seen: Set<String> = []
        return entries.tokens.filter { $0.param == "identifier" && self.uniquePatientIdentifierSystems.contains($0.system) }
            .filter { seen.insert($0.system + "|" + $0.code).inserted }
            .map { ($0.system, $0.code) }
    }
}
