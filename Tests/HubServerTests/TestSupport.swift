import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Logging

/// Starts a hub on a fresh database, optionally adjusting its configuration, and runs `body`.
func withHub<Result: Sendable>(
    _ adjust: @Sendable (inout HubConfiguration) -> Void = { _ in },
    logger: Logger? = nil,
    _ body: @Sendable (RunningHub) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withFresh { url in
        var configuration = try TestHub.configuration(database: url)
        adjust(&configuration)
        return try await TestHub.withRunning(configuration, logger: logger, body)
    }
}

/// Decodes a reply's body as a JSON object.
func jsonObject(_ reply: HubClient.Reply) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] ?? [:]
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(
    within timeout: Duration = .seconds(20),
    _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return false
}

/// Registers a synthetic patient (from `seed`) as `caller`'s hospital and returns its id.
func createPatient(_ hub: RunningHub, seed: UInt64, presenting caller: TestPKI) async throws -> String {
    var patients = SyntheticPatients(seed: seed)
    let reply = try await hub.send(
        "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(patients.patientJSON().utf8), presenting: caller)
    guard reply.status == 201, let id = try jsonObject(reply)["id"] as? String else {
        throw TestFailure(description: "the patient was not created: \(reply.status) \(reply.text)")
    }
    return id
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}
