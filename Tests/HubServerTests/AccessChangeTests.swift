import Foundation
import HubAccess
import HubClient
import HubConfig
import HubTestSupport
import Logging
import Testing

/// Credentials are resolved once and kept (issue #16), yet every revocation and deactivation is
/// in force at the next request — whoever makes it: this hub, another hub, `hub admin`, psql.
@Suite struct AccessChangeTests {
    static let json = [("Content-Type", "application/json")]

    /// Runs `sql` on the hub's database, as another writer would.
    static func execute(_ hub: RunningHub, _ sql: String) async throws {
        try await TestDatabase.execute(try #require(hub.configuration.database.url), sql)
    }

    static func listening(_ hub: RunningHub) async throws {
        #expect(try await eventually(within: .seconds(10)) { hub.grants.isServing }, "the hub never began listening for access changes")
    }

    @Test func changesByOtherWritersEndKeptGrants() async throws {
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            try await Self.listening(hub)
            let token = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)

            // The grant is kept: a revocation nobody announces (the trigger off, as no writer
            // can do without being the tables' owner) goes unseen — which is what the trigger is for.
            try await Self.execute(hub, "ALTER TABLE access_tokens DISABLE TRIGGER access_tokens_changed")
            try await Self.execute(hub, "UPDATE access_tokens SET revoked_at = now() WHERE principal_id = 'test-clinician'")
            try await Self.execute(hub, "ALTER TABLE access_tokens ENABLE TRIGGER access_tokens_changed")
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)
            // Any announced change to the tokens empties the cache: the revocation is now seen.
            try await Self.execute(hub, "UPDATE access_tokens SET expires_at = expires_at WHERE false")
            #expect(
                try await eventually(within: .seconds(5)) { try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 401 })

            // A system deactivated in psql (or by `hub admin`, or another hub) is refused too,
            // through its certificate and its tokens alike.
            let systemToken = try await hub.token(for: TestHub.Identities.system)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: hub.pki).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: hub.pki, bearer: systemToken).status == 200)
            try await Self.execute(hub, "UPDATE principals SET active = false WHERE id = 'test-system'")
            #expect(
                try await eventually(within: .seconds(5)) {
                    try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: hub.pki).status == 401
                })
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: hub.pki, bearer: systemToken).status == 401)

            // An organization deactivated outside the hub: its system is refused too.
            let other = hub.pki.otherHospital
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: other).status == 200)
            try await Self.execute(hub, "UPDATE organizations SET active = false WHERE id = 'other-hospital'")
            #expect(
                try await eventually(within: .seconds(5)) {
                    try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: other).status == 401
                })
        }
    }

    @Test func thisHubsOwnChangesTakeEffectAtTheNextRequest() async throws {
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            try await Self.listening(hub)
            // Without the announcements: what is tested is that this hub forgets by itself.
            for (table, trigger) in [
                ("access_tokens", "access_tokens_changed"), ("principals", "principals_changed"),
                ("organizations", "organizations_changed"),
            ] {
                try await Self.execute(hub, "ALTER TABLE \(table) DISABLE TRIGGER \(trigger)")
            }
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            // Kept grants of the other hospital's system (its certificate) and of a clinician.
            let other = hub.pki.otherHospital
            let warm = try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: other)
            #expect(warm.status == 200, "\(String(decoding: warm.body, as: UTF8.self))")
            let clinician = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: clinician).status == 200)

            // Deactivating the organization: its system is refused at once, with no wait.
            let off = Array(#"{"active":false}"#.utf8)
            #expect(try await hub.send("PATCH", "/admin/organizations/other-hospital", headers: Self.json, body: off, bearer: admin).status == 204)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", presenting: other).status == 401)
            // Logging out: the token is refused at once.
            #expect(try await hub.send("POST", "/auth/revoke", bearer: clinician).status == 204)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: clinician).status == 401)
            // Deactivating a principal through the API.
            let second = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: second).status == 200)
            #expect(
                try await hub.send(
                    "PATCH", "/admin/principals/\(TestHub.Identities.clinician)", headers: Self.json, body: off, bearer: admin
                ).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: second).status == 401)
        }
    }

    @Test func aHubThatStopsHearingForgetsWhatItKept() async throws {
        let capture = LogCapture()
        try await withHub(logger: capture.logger("test.hub", level: .warning)) { hub in
            try await Self.listening(hub)
            let token = try await hub.token(for: TestHub.Identities.clinician)
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)
            // An unannounced revocation, then the listener's connection is cut.
            try await Self.execute(hub, "ALTER TABLE access_tokens DISABLE TRIGGER access_tokens_changed")
            try await Self.execute(hub, "UPDATE access_tokens SET revoked_at = now() WHERE principal_id = 'test-clinician'")
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 200)
            try await Self.execute(
                hub,
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'health-records-hub: hub_access_changed listener'
                """)
            #expect(try await eventually(within: .seconds(10)) { capture.text.contains("not hearing access changes") })
            // Whatever was kept is gone: the token is looked up again, and refused.
            #expect(try await hub.send("GET", "/fhir/Patient?_summary=count", bearer: token).status == 401)
            try await Self.execute(hub, "ALTER TABLE access_tokens ENABLE TRIGGER access_tokens_changed")
            // And the hub listens again by itself.
            try await Self.listening(hub)
        }
    }
}
