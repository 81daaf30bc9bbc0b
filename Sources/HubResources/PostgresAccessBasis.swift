public import HubAudit
import HubFHIR
public import HubStorage
public import Logging
import PostgresNIO

/// ``AccessBasisCheck`` over the record store's access tables: a read is explained by a care
/// relationship or a permitting Consent rule of the organization for the patient, by a
/// population grant of the commission in force at the time of the read and for its purpose (the
/// health data center's `$export`), or — record by record — by the records being the
/// organization's own or shared with it (a referral).
/// One statement for all of a report's reads. The tables as they are now: a relationship
/// removed since (a cancelled booking) no longer explains an earlier read, which the report's
/// reader should keep in mind.
public struct PostgresAccessBasis: AccessBasisCheck {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func unexplained(_ reads: [AuditedRead]) async throws -> [Int] {
        guard !reads.isEmpty else { return [] }
        // Every (organization, patient, record) read, as rows; one statement finds the records
        // nothing explains: no care relationship or permitting consent rule for the pair, and
        // the record neither the organization's own nor shared with it.
        var organizations: [String] = []
        var patients: [String] = []
        var types: [String] = []
        var ids: [String] = []
        var times: [String] = []
        var purposes: [String] = []
        var positions: [Int] = []
        for (position, read) in reads.enumerated() {
            for entity in Set(read.entities.map { $0.split(separator: "/").prefix(2).map(String.init) }) where entity.count == 2 {
                organizations.append(read.organization)
                patients.append(read.patient)
                types.append(entity[0])
                ids.append(entity[1])
                times.append(UTCTime(read.time).timestampLiteral)
                purposes.append(read.purposeOfUse)
                positions.append(position)
            }
        }
        var sql = SQLBuilder()
        let text = """
            SELECT q.n FROM unnest(\(sql.bind(organizations))::text[], \(sql.bind(patients))::text[], \(sql.bind(types))::text[],
                                   \(sql.bind(ids))::text[], \(sql.bind(times))::timestamptz[], \(sql.bind(purposes))::text[],
                                   \(sql.bind(positions))::int[]) AS q(o, p, t, i, at, pu, n)
            WHERE NOT EXISTS (SELECT 1 FROM care_relationships c WHERE c.patient_id = q.p AND c.organization_id = q.o)
              AND NOT EXISTS (SELECT 1 FROM consent_rules k WHERE k.patient_id = q.p AND k.permit AND k.organization_id = q.o)
              AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.type = q.t AND r.id = q.i AND r.organization = q.o)
              AND NOT EXISTS (SELECT 1 FROM resource_shares s WHERE s.type = q.t AND s.id = q.i AND s.organization_id = q.o)
              AND NOT EXISTS (SELECT 1 FROM population_export_grants g WHERE g.organization_id = q.o AND g.purpose = q.pu
                  AND g.approved_at <= q.at AND g.period @> q.at AND (g.revoked_at IS NULL OR g.revoked_at > q.at))
            """
        let statement = sql.query(text)
        let logger = self.logger
        let found: Set<Int> = try await self.database.withConnection("audit report access basis") { connection in
            var found: Set<Int> = []
            for try await position in try await connection.query(statement, logger: logger).decode(Int.self) { found.insert(position) }
            return found
        }
        return found.sorted()
    }
}
