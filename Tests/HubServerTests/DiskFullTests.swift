import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// The database's disk fills (issue #18): writes are refused with 503 and nothing is half-written;
/// reads go on, each audited, in the space the reserve released; once there is room again, writes
/// are accepted without anyone intervening. A full disk is played by a trigger raising SQLSTATE
/// 53100 (`disk_full`), as PostgreSQL does when it cannot extend a file, on the table records grow
/// and on creating tables (the reserve) — `ops/chaos/disk-full` fills a real file system.
@Suite struct DiskFullTests {
    @Test func writesAreRefusedReadsGoOnAndItRecoversByItself() async throws {
        let pki = try TestEnvironment.pki()
        try await TestDatabase.withFresh { url in
            var configuration = try TestHub.configuration(database: url)
            configuration.tls.clientAuthentication = .optional
            configuration.database.diskReserveMegabytes = 1
            configuration.database.diskRetrySeconds = 1
            try await TestHub.withRunning(configuration) { hub in
                let reserve = "SELECT (COALESCE(pg_relation_size(to_regclass('storage_reserve')), 0) >= 1048576)::text"
                #expect(try await eventually(within: .seconds(30)) { try await TestDatabase.strings(url, reserve) == ["true"] })
                var people = SyntheticPatients(seed: 18_400)
                let json = [("Content-Type", "application/fhir+json")]
                let create: @Sendable (String) async throws -> HubClient.Reply = { body in
                    try await hub.send("POST", "/fhir/Patient", headers: json, body: Array(body.utf8), presenting: pki)
                }
                let before = try await create(people.patientJSON())
                #expect(before.status == 201)
                let id = try #require(try jsonObject(before)["id"] as? String)

                // The disk is full: every new row of a record or of the reserve fails as PostgreSQL's would.
                try await TestDatabase.run(
                    url,
                    [
                        "CREATE TABLE test_disk (is_full boolean NOT NULL)",
                        "INSERT INTO test_disk VALUES (true)",
                        """
                        CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                          IF (SELECT is_full FROM test_disk) THEN
                            RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                          END IF;
                          RETURN NEW;
                        END $$
                        """,
                        "CREATE TRIGGER disk_full BEFORE INSERT ON resource_versions FOR EACH ROW EXECUTE FUNCTION test_disk_full()",
                        // The reserve is dropped when released: it is its creation that must fail.
                        """
                        CREATE FUNCTION test_disk_full_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
                        BEGIN
                          IF (SELECT is_full FROM test_disk) THEN
                            RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                          END IF;
                        END $$
                        """,
                        "CREATE EVENT TRIGGER disk_full ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION test_disk_full_ddl()",
                    ])
                let versions = "SELECT count(*)::text FROM resource_versions"
                let countBefore = try await TestDatabase.strings(url, versions)
                let refused = try await create(people.patientJSON())
                #expect(refused.status == 503)
                #expect(refused.header("retry-after") != nil)
                #expect(try jsonObject(refused)["resourceType"] as? String == "OperationOutcome")

                // The reserve is given back, and writes are refused before they reach the database.
                let emptied = "SELECT (to_regclass('storage_reserve') IS NULL)::text"
                #expect(try await eventually(within: .seconds(15)) { try await TestDatabase.strings(url, emptied) == ["true"] })
                #expect(try await create(people.patientJSON()).status == 503)
                #expect(try await TestDatabase.strings(url, versions) == countBefore)

                // Reads go on, each with its audit record.
                let audited =
                    "SELECT count(*)::text FROM (SELECT patient, action FROM audit_log UNION ALL SELECT patient, action FROM audit_queue) a WHERE a.patient = '\(id)' AND a.action = 'R'"
                let readsBefore = Int(try await TestDatabase.strings(url, audited).first ?? "") ?? -1
                for _ in 0..<3 {
                    #expect(try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki).status == 200)
                }
                #expect(Int(try await TestDatabase.strings(url, audited).first ?? "") == readsBefore + 3)

                // Space is freed: the reserve is filled again and writes are accepted, by themselves.
                try await TestDatabase.run(url, ["UPDATE test_disk SET is_full = false"])
                let after = people.patientJSON()
                let accepted = try await eventually(within: .seconds(30)) { try await create(after).status == 201 }
                #expect(accepted)
                #expect(try await TestDatabase.strings(url, reserve) == ["true"])
            }
        }
    }
}
