public import HubAudit
public import HubStorage
public import Logging
import PostgresNIO

/// ``AccessBasisCheck`` over the record store's access tables: a read is explained by a care
/// relationship or a permitting Consent rule of the organization for the patient, or — record by
/// record — by the records being the organization's own or shared with it (a referral).
/// The tables as they are now: a relationship removed since (a cancelled booking) no longer
/// explains an earlier read, which the report's reader should keep in mind.
public struct PostgresAccessBasis: AccessBasisCheck {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func unexplained(_ reads: [(organization: String, patient: String, entities: [String])]) async throws -> [Int] {
        guard !reads.isEmpty else { return [] }
        let logger = self.logger
        // Pairs with neither a care relationship nor a permitting consent rule.
        let pairs = Array(Set(reads.map { "\($0.organization)\u{0}\($0.patient)" })).sorted()
        var sql = SQLBuilder()
        let organizations = sql.bind(pairs.map { String($0.split(separator: "\u{0}", omittingEmptySubsequences: false)[0]) })
        let patients = sql.bind(pairs.map { String($0.split(separator: "\u{0}", omittingEmptySubsequences: false)[1]) })
        let text = """
            SELECT q.o, q.p FROM unnest(\(organizations)::text[], \(patients)::text[]) AS q(o, p)
            WHERE NOT EXISTS (SELECT 1 FROM care_relationships c WHERE c.patient_id = q.p AND c.organization_id = q.o)
              AND NOT EXISTS (SELECT 1 FROM consent_rules k WHERE k.patient_id = q.p AND k.permit AND k.organization_id = q.o)
            """
        let statement = sql.query(text)
        let bare: Set<String> = try await self.database.withConnection("audit report access basis") { connection in
            var found: Set<String> = []
            for try await (organization, patient) in try await connection.query(statement, logger: logger).decode((String, String).self) {
                found.insert("\(organization)\u{0}\(patient)")
            }
            return found
        }
        var unexplained: [Int] = []
        for (position, read) in reads.enumerated() where bare.contains("\(read.organization)\u{0}\(read.patient)") {
            // Records the organization wrote or that were shared with it explain themselves.
            let keys = read.entities.map { $0.split(separator: "/").prefix(2).joined(separator: "/") }
            var query = SQLBuilder()
            let keyList = query.bind(keys)
            let organization = query.bind(read.organization)
            let lookup = """
                SELECT count(DISTINCT k) FROM (
                  SELECT r.type || '/' || r.id AS k FROM resources r WHERE (r.type || '/' || r.id) = ANY(\(keyList)) AND r.organization = \(organization)
                  UNION SELECT s.type || '/' || s.id FROM resource_shares s WHERE (s.type || '/' || s.id) = ANY(\(keyList)) AND s.organization_id = \(organization)
                ) AS own
                """
            let check = query.query(lookup)
            let explained = try await self.database.withConnection("audit report access basis") { connection in
                for try await count in try await connection.query(check, logger: logger).decode(Int.self) { return count }
                return 0
            }
            if explained < Set(keys).count { unexplained.append(position) }
        }
        return unexplained
    }
}
