import Foundation

/// The independent implementations the tests check the hub against: Python scripts in
/// `Tests/Peers/`, run with the virtual environment `ops/setup` makes from the exact versions in
/// `Tests/Peers/requirements.txt` (`HUB_TEST_PYTHON`, set by `ops/test`). Without it the test
/// fails: a peer check that silently skips proves nothing.
public enum TestPeer {
    /// Runs `Tests/Peers/<script>` with `arguments` to completion.
    public static func run(_ script: String, _ arguments: [String]) async throws -> TestProcess.Output {
        let python = try TestEnvironment.require("HUB_TEST_PYTHON")
        return try await TestProcess.runTool(python, [try Self.path(script)] + arguments)
    }

    /// The path of `Tests/Peers/<script>`.
    public static func path(_ script: String) throws -> String {
        try TestEnvironment.repositoryRoot() + "/Tests/Peers/" + script
    }
}
