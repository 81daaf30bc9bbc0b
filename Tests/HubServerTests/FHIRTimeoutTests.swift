import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

@Suite struct FHIRTimeoutTests {
    /// Runs `body` against a hub with a one-second database deadline while another session holds
    /// `tables` locked; the lock is released once `body` returns. `prepare` runs before the lock.
    static func withLocked<Prepared: Sendable>(
        _ tables: String,
        prepare: @escaping @Sendable (RunningHub) async throws -> Prepared,
        _ body: @escaping @Sendable (RunningHub, Prepared) async throws -> Void
    ) async throws {
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.database.operationTimeoutSeconds = 1
            configuration.tls.clientAuthentication = .optional
            try await TestHub.withRunning(configuration) { hub in
                let prepared = try await prepare(hub)
                let blocker = try TestDatabase.database(url)
                try await blocker.whileRunning {
                    try await blocker.withTransaction("hold a lock") { connection in
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "LOCK TABLE \(tables) IN ACCESS EXCLUSIVE MODE"), logger: makeTestLogger("test.sql"))
                        try await body(hub, prepared)
                    }
                }
                // Released, the hub answers again: soon, though on a loaded machine the one-second
                // deadline may still cut a few requests short before one goes through.
                let pki = try TestEnvironment.pki()
                #expect(
                    try await eventually(within: .seconds(60)) {
                        try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki).status == 200
                    })
            }
        }
    }

    /// A search held up past the database deadline (here by a lock another session holds) is
    /// cancelled by PostgreSQL's statement timeout and answered 503 with an OperationOutcome.
    @Test func aSearchHeldPastTheDeadlineIsAnswered503() async throws {
        let pki = try TestEnvironment.pki()
        try await Self.withLocked("resources", prepare: { _ in () }) { hub, _ in
            // The lock is held until the reply is in: a 503 can only come from the deadline
            // (without it the search would wait for the lock until the client gave up). How long
            // it took is not asserted: on a loaded machine that measures the machine, not the hub.
            let reply = try await hub.send("GET", "/fhir/Patient?gender=male", presenting: pki)
            #expect(reply.status == 503, "\(reply.text)")
            #expect(reply.header("retry-after") != nil)
            #expect(try jsonObject(reply)["resourceType"] as? String == "OperationOutcome")
        }
    }

    /// When the credentials cannot be checked (the identity tables are locked past the deadline),
    /// the answer is 503 with Retry-After and an OperationOutcome — not a bare 500, and not a
    /// refusal that would tell a hospital its token or certificate is bad.
    @Test func aDatabaseFailureWhileAuthenticatingIsAnswered503() async throws {
        let pki = try TestEnvironment.pki()
        try await Self.withLocked("access_tokens, principals", prepare: { hub in try await hub.token(for: TestHub.Identities.clinician) }) {
            hub, token in
            for (name, reply) in [
                ("bearer token", try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token)),
                ("certificate", try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: pki)),
            ] {
                #expect(reply.status == 503, "\(name): \(reply.status) \(reply.text)")
                #expect(reply.header("retry-after") != nil, "\(name)")
                #expect((try? jsonObject(reply))?["resourceType"] as? String == "OperationOutcome", "\(name): \(reply.text)")
            }
        }
    }
}
