import ArgumentParser
import Foundation

/// A failure that ends a command with one line on standard error and a documented exit code.
struct FailureExit: Error {
    enum Code: Int32 {
        /// Anything else: database down, migration failed.
        case failure = 1
        /// Configuration missing or invalid (EX_CONFIG).
        case configuration = 78
    }

    var message: String
    var code: Code = .failure
}

extension AsyncParsableCommand {
    /// Runs `body`, turning known errors into one line and an exit code instead of a trace.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as FailureExit {
            FileHandle.standardError.write(Data("hub: \(failure.message)\n".utf8))
            throw ExitCode(failure.code.rawValue)
        }
    }
}
