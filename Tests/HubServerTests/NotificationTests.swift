import Foundation
import HubClient
import HubConfig
import HubSynthetic
import HubTestSupport
import Testing

/// Subscriptions and their notifications (issue #6): a hospital subscribes to the referrals
/// addressed to it and is told of each by a rest-hook POST carrying ids only; failures are
/// retried and given up into a visible dead-letter list; what is pending survives a restart.
@Suite struct NotificationTests {
    static let json = [("Content-Type", "application/fhir+json")]

    static func subscription(criteria: String, endpoint: String, payload: String? = "application/fhir+json", type: String = "rest-hook") -> [UInt8] {
        var channel: [String: Any] = ["type": type, "endpoint": endpoint, "header": ["Authorization: Bearer receiver-secret"]]
        channel["payload"] = payload
        let body: [String: Any] = [
            "resourceType": "Subscription", "status": "requested", "reason": "转诊通知", "criteria": criteria, "channel": channel,
        ]
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }

    /// Hospital A registers a patient and refers them to B; returns the Task's id.
    static func refer(_ hub: RunningHub, seed: UInt64) async throws -> String {
        var people = SyntheticPatients(seed: seed)
        let pki = hub.pki
        let patient = try #require(
            try jsonObject(try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: pki))[
                "id"] as? String)
        let result = try #require(
            try jsonObject(
                try await hub.send(
                    "POST", "/fhir/Observation", headers: Self.json,
                    body: Array(people.observationJSON(test: LabTest.common[0], patient: "Patient/\(patient)", day: "2026-11-28").utf8),
                    presenting: pki
                ))["id"] as? String)
        let sent = try await hub.send(
            "POST", "/fhir", headers: Self.json, body: ReferralWorkflowTests.referral(patient: patient, supporting: result), presenting: pki)
        #expect(sent.status == 200, "\(sent.text)")
        let entries = try #require(try jsonObject(sent)["entry"] as? [[String: Any]])
        let location = try #require((entries[1]["response"] as? [String: Any])?["location"] as? String)
        return try #require(location.split(separator: "/").dropFirst().first.map(String.init))
    }

    static func configure(_ configuration: inout HubConfiguration, pki: TestPKI) {
        configuration.tls.clientAuthentication = .optional
        configuration.subscriptions.trustRoots = pki.caCertificate
        configuration.subscriptions.pollMilliseconds = 100
        configuration.subscriptions.retryInitialSeconds = 1
        configuration.subscriptions.retryMaxSeconds = 1
    }

    static func notifications(_ hub: RunningHub, _ query: String, as caller: TestPKI) async throws -> [[String: Any]] {
        let reply = try await hub.send("GET", "/notifications\(query)", presenting: caller)
        #expect(reply.status == 200, "\(reply.text)")
        return try jsonObject(reply)["notifications"] as? [[String: Any]] ?? []
    }

    @Test func aReferralIsNotifiedToItsAddresseeWithIdsOnly() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = NotificationReceiver()
        try await receiver.whileListening(pki: pki) { port in
            try await withHub({ Self.configure(&$0, pki: pki) }) { hub in
                let b = pki.otherHospital
                let c = pki.thirdHospital
                // Bad subscriptions are refused, naming what is wrong.
                for (body, expression) in [
                    (Self.subscription(criteria: "Patient?name=张", endpoint: "https://127.0.0.1:\(port)/b"), "Subscription.criteria"),
                    (
                        Self.subscription(criteria: "Task?owner=Organization/other-hospital", endpoint: "http://127.0.0.1:\(port)/b"),
                        "Subscription.channel.endpoint"
                    ),
                    (
                        Self.subscription(criteria: "Task?owner=Organization/other-hospital", endpoint: "https://127.0.0.1:\(port)/b", type: "email"),
                        "Subscription.channel.type"
                    ),
                    (Self.subscription(criteria: "Task?colour=red", endpoint: "https://127.0.0.1:\(port)/b"), "Subscription.criteria"),
                    (Self.subscription(criteria: "Task?_include=Task:owner", endpoint: "https://127.0.0.1:\(port)/b"), "Subscription.criteria"),
                ] {
                    let refused = try await hub.send("POST", "/fhir/Subscription", headers: Self.json, body: body, presenting: b)
                    #expect(refused.status == 422, "\(refused.text)")
                    #expect(refused.text.contains(expression), "\(refused.text)")
                }
                // B subscribes to referrals addressed to it; C to every Task (it sees none of these).
                let created = try await hub.send(
                    "POST", "/fhir/Subscription", headers: Self.json,
                    body: Self.subscription(criteria: "Task?owner=Organization/other-hospital", endpoint: "https://127.0.0.1:\(port)/b"),
                    presenting: b
                )
                #expect(created.status == 201, "\(created.text)")
                let subscription = try jsonObject(created)
                #expect(subscription["status"] as? String == "active")
                let subscriptionID = try #require(subscription["id"] as? String)
                let other = try await hub.send(
                    "POST", "/fhir/Subscription", headers: Self.json,
                    body: Self.subscription(criteria: "Task", endpoint: "https://127.0.0.1:\(port)/c"), presenting: c
                )
                #expect(other.status == 201)
                // A Subscription is its organization's alone.
                #expect(try await hub.send("GET", "/fhir/Subscription/\(subscriptionID)", presenting: pki).status == 404)
                #expect(try await hub.send("GET", "/fhir/Subscription/\(subscriptionID)", presenting: b).status == 200)

                let task = try await Self.refer(hub, seed: 611)
                #expect(try await eventually { receiver.received.contains { $0.path == "/b" } })
                let delivered = try #require(receiver.received.first { $0.path == "/b" })
                #expect(delivered.headers["authorization"] == "Bearer receiver-secret")
                #expect(delivered.headers["content-type"] == "application/fhir+json")
                let bundle = try #require(try JSONSerialization.jsonObject(with: Data(delivered.body)) as? [String: Any])
                #expect(bundle["type"] as? String == "history")
                let entries = try #require(bundle["entry"] as? [[String: Any]])
                #expect(entries.count == 2)
                let focus = entries[1]
                #expect((focus["fullUrl"] as? String)?.hasSuffix("/fhir/Task/\(task)") == true)
                #expect(focus["resource"] == nil, "ids only: no resource in the notification")
                let status = try #require(entries[0]["resource"] as? [String: Any])
                let text = String(decoding: try JSONSerialization.data(withJSONObject: status, options: .withoutEscapingSlashes), as: UTF8.self)
                #expect(text.contains("Task/\(task)/_history/1"))
                #expect(text.contains("\"event-number\""))
                #expect(!String(decoding: delivered.body, as: UTF8.self).contains("胸痛"), "no clinical content")
                // B fetches with its own credentials.
                #expect(try await hub.send("GET", "/fhir/Task/\(task)", presenting: b).status == 200)
                // Listed as delivered for B; C was told nothing (it may not read the Task).
                let listed = try await Self.notifications(hub, "?subscription=Subscription/\(subscriptionID)", as: b)
                #expect(listed.count == 1)
                #expect(listed.first?["state"] as? String == "delivered")
                #expect(listed.first?["eventNumber"] as? Int == 1)
                #expect(try await Self.notifications(hub, "", as: c).isEmpty)
                #expect(!receiver.received.contains { $0.path == "/c" })
                // The regulator's API is not for notifications.
                #expect(try await hub.send("GET", "/notifications", presenting: pki.regulator).status == 403)
            }
        }
    }

    @Test func failedNotificationsAreRetriedThenGivenUpIntoTheDeadLetterList() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = NotificationReceiver()
        receiver.answer(503)
        try await receiver.whileListening(pki: pki) { port in
            try await withHub({
                Self.configure(&$0, pki: pki)
                // Long enough for two attempts a second apart on a loaded machine (the first may
                // wait for the dispatcher's round), short enough for the test.
                $0.subscriptions.giveUpAfterSeconds = 6
            }) { hub in
                let b = pki.otherHospital
                let created = try await hub.send(
                    "POST", "/fhir/Subscription", headers: Self.json,
                    body: Self.subscription(
                        criteria: "Task?owner=Organization/other-hospital", endpoint: "https://127.0.0.1:\(port)/b", payload: nil),
                    presenting: b
                )
                #expect(created.status == 201)
                _ = try await Self.refer(hub, seed: 612)
                #expect(try await eventually(within: .seconds(40)) { try await Self.notifications(hub, "?state=dead", as: b).count == 1 })
                let dead = try #require(try await Self.notifications(hub, "?state=dead", as: b).first)
                #expect((dead["attempts"] as? Int ?? 0) >= 2, "retried before giving up: \(dead)")
                #expect((dead["lastError"] as? String)?.contains("503") == true)
                let attempts = receiver.received.count
                #expect(attempts >= 2)
                // No payload asked for: an empty POST ("ping").
                #expect(receiver.received.allSatisfy { $0.body.isEmpty })
                // Another organization cannot requeue it; B can, and it goes through.
                let id = try #require(dead["id"] as? String)
                #expect(try await hub.send("POST", "/notifications/\(id)/retry", presenting: pki).status == 404)
                receiver.answer(200)
                #expect(try await hub.send("POST", "/notifications/\(id)/retry", presenting: b).status == 202)
                #expect(try await eventually { try await Self.notifications(hub, "?state=delivered", as: b).count == 1 })
                #expect(receiver.received.count == attempts + 1)
            }
        }
    }

    @Test func pendingNotificationsSurviveARestart() async throws {
        let pki = try TestEnvironment.pki()
        let receiver = NotificationReceiver()
        // A port for the endpoint, with nothing listening on it until the hub has restarted.
        let port = try await receiver.whileListening(pki: pki) { $0 }
        try await TestDatabase.withFresh { url in
            var settings = try TestHub.configuration(database: url)
            Self.configure(&settings, pki: pki)
            let configuration = settings
            let b = pki.otherHospital
            let task = try await TestHub.withRunning(configuration) { hub in
                let created = try await hub.send(
                    "POST", "/fhir/Subscription", headers: Self.json,
                    body: Self.subscription(criteria: "Task?owner=Organization/other-hospital", endpoint: "https://127.0.0.1:\(port)/b"),
                    presenting: b
                )
                #expect(created.status == 201)
                let task = try await Self.refer(hub, seed: 613)
                // Tried and failed (connection refused): pending, with an error.
                #expect(
                    try await eventually {
                        try await Self.notifications(hub, "?state=pending", as: b).first.map { ($0["attempts"] as? Int ?? 0) >= 1 } ?? false
                    })
                return task
            }
            // The hub is down; the endpoint comes up; a new hub on the same database delivers.
            try await receiver.whileListening(port: port, pki: pki) { _ in
                try await TestHub.withRunning(configuration) { hub in
                    #expect(try await eventually { receiver.received.contains { $0.path == "/b" } })
                    let body = String(decoding: try #require(receiver.received.first).body, as: UTF8.self)
                    #expect(body.contains("Task/\(task)"))
                    #expect(try await eventually { try await Self.notifications(hub, "?state=delivered", as: b).count == 1 })
                }
            }
        }
    }
}
