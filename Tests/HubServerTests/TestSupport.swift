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
