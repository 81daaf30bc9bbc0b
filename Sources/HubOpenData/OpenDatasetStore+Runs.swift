public import Foundation
import HubAudit
import HubAuditCore
import HubFHIR
public import HubOpenDataCore
import HubStorage
import Logging
import NIOCore
import PostgresNIO

/// The runner's side of ``OpenDatasetStore``: taking a dataset whose release is wanted under a
/// lease (shared between hubs), keeping the lease while computing, and storing the release.
extension OpenDatasetStore {
    /// A dataset taken for computing.
    public struct Claim: Sendable {
        public var id: String
        public var definition: DatasetDefinition
        /// When the release was asked for: a request made while computing asks for another.
        var requestedAt: Date
        public var attempts: Int
        /// The regulator who approved it: the computation is done on the commission's behalf.
        public var approvedBy: String
    }

    /// Takes the longest-waiting dataset whose release is wanted and not leased, or nil. A
    /// dataset whose computation was taken `maximumAttempts` times without storing a release (a
    /// hub that crashed or lost its lease each time) is given up first, with a reason.
    public func claim(owner: String, lease: Duration, maximumAttempts: Int = 3) async throws -> Claim? {
        let logger = self.logger
        let seconds = Double(lease.components.seconds)
        return try await self.database.withConnection("claim open dataset") { connection in
            try await connection.run(
                """
                UPDATE open_datasets SET release_requested_at = NULL, lease_owner = NULL, lease_until = NULL,
                    error = 'the release was begun ' || \(maximumAttempts) || ' times and never finished; ask for it again'
                WHERE release_requested_at IS NOT NULL AND attempts >= \(maximumAttempts) AND (lease_until IS NULL OR lease_until < now())
                """, logger: logger)
            let rows = try await connection.query(
                """
                UPDATE open_datasets SET lease_owner = \(owner), lease_until = now() + make_interval(secs => \(seconds)), attempts = attempts + 1
                WHERE id = (SELECT id FROM open_datasets
                            WHERE release_requested_at IS NOT NULL AND approved_by IS NOT NULL AND withdrawn_at IS NULL
                              AND (lease_until IS NULL OR lease_until < now())
                            ORDER BY release_requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id::text, definition::text, release_requested_at, attempts, approved_by
                """, logger: logger)
            for try await (id, definition, requested, attempts, approver) in rows.decode((String, String, Date, Int, String).self) {
                let decoded = try JSONDecoder().decode(DatasetDefinition.self, from: Data(definition.utf8))
                return Claim(id: id, definition: decoded, requestedAt: requested, attempts: attempts, approvedBy: approver)
            }
            return nil
        }
    }

    /// Extends the lease of a claim still held; false when it was lost (withdrawn, or taken by
    /// another runner after this one stalled).
    public func renew(_ claim: Claim, owner: String, lease: Duration) async throws -> Bool {
        let logger = self.logger
        let seconds = Double(lease.components.seconds)
        return try await self.database.withConnection("renew open dataset lease") { connection in
            for try await _ in try await connection.query(
                """
                UPDATE open_datasets SET lease_until = now() + make_interval(secs => \(seconds))
                WHERE id = \(claim.id)::uuid AND lease_owner = \(owner) AND withdrawn_at IS NULL RETURNING 1
                """, logger: logger)
            {
                return true
            }
            return false
        }
    }

    /// Stores the release computed for `claim` as the dataset's next, with its audit record, in
    /// one transaction; nil when the lease was lost (nothing is stored).
    public func store(
        _ table: AnonymizedTable, for claim: Claim, recordsAsOf: Date, patients: Int, owner: String
    ) async throws -> DatasetRelease? {
        let (logger, budget) = (self.logger, self.epsilonBudget)
        return try await self.database.withTransaction("store open data release") { connection in
            var held = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM open_datasets WHERE id = \(claim.id)::uuid AND lease_owner = \(owner) AND withdrawn_at IS NULL FOR UPDATE",
                logger: logger)
            {
                held = true
            }
            guard held else { return nil }
            // The last word on the budget: a release beyond it is not stored (its noisy table
            // would be reviewed).
            try await Self.requireBudget(for: claim.id, releases: 1, budget: budget, on: connection, logger: logger)
            var number = 1
            for try await last in try await connection.query(
                "SELECT coalesce(max(number), 0) FROM open_releases WHERE dataset_id = \(claim.id)::uuid", logger: logger
            ).decode(Int.self) {
                number = last + 1
            }
            let release = DatasetRelease(
                dataset: claim.id, number: number, definition: claim.definition, table: table, recordsAsOf: recordsAsOf, computedAt: Date())
            let asOf = UTCTime(recordsAsOf).timestampLiteral
            let requested = UTCTime(claim.requestedAt).timestampLiteral
            try await connection.run(
                """
                INSERT INTO open_releases (dataset_id, number, records_as_of, release)
                VALUES (\(claim.id)::uuid, \(number), \(asOf)::timestamptz, \(ByteBuffer(bytes: release.json())))
                """, logger: logger)
            // A new request while this one computed stays for the next round.
            try await connection.run(
                """
                UPDATE open_datasets SET lease_owner = NULL, lease_until = NULL, attempts = 0, error = NULL,
                    release_requested_at = CASE WHEN release_requested_at <= \(requested)::timestamptz THEN NULL ELSE release_requested_at END
                WHERE id = \(claim.id)::uuid
                """, logger: logger)
            // The computation read records of `patients` patients; none of them is named: what
            // leaves is de-identified, and the release's own record says what it was.
            let record = AuditRecord(
                time: Date(), action: .create, interaction: "open-data",
                caller: Caller(client: "hub", user: claim.approvedBy, purposeOfUse: "PUBHLTH"), resourceType: "OpenDatasetRelease",
                entities: ["OpenDataset/\(claim.id)", "OpenDatasetRelease/\(claim.id)/\(number)"],
                parameters: ["patients=\(patients)", "rows=\(release.rows.count)"])
            try await AuditLog.enqueue([record], on: connection, logger: logger)
            return release
        }
    }

    /// Gives a claim back after a failure: tried again after its lease, or — after `maximum`
    /// attempts — given up with `error` (no patient data) until a regulator asks again.
    public func fail(_ claim: Claim, owner: String, error: String, maximumAttempts: Int) async throws {
        let logger = self.logger
        let giveUp = claim.attempts >= maximumAttempts
        try await self.database.withConnection("fail open data release") { connection in
            try await connection.run(
                """
                UPDATE open_datasets SET error = \(error),
                    release_requested_at = CASE WHEN \(giveUp) THEN NULL ELSE release_requested_at END,
                    lease_owner = CASE WHEN \(giveUp) THEN NULL ELSE lease_owner END
                WHERE id = \(claim.id)::uuid AND lease_owner = \(owner)
                """, logger: logger)
        }
    }
}
