public import Foundation

/// Runs the built `hub` and `hubctl` executables, as an operator would.
public struct TestProcess: Sendable {
    public struct Output: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    /// Runs `executable` (a product name, found in the build folder) to completion.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) async throws -> Output {
        let process = try Self.makeProcess(executable, arguments, environment: environment, workingDirectory: workingDirectory)
        return try await Self.run(process)
    }

    /// Runs a program found on `PATH` (`openssl`), or at an absolute path, to completion.
    public static func runTool(_ tool: String, _ arguments: [String]) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        return try await Self.run(process)
    }

    private static func run(_ process: Process) async throws -> Output {
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        // Blocking reads and waits run on threads of their own: on the two cooperative threads
        // of a 2-core machine they would starve the in-process hub the child is talking to.
        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in
            exited.continuation.yield()
            exited.continuation.finish()
        }
        try process.run()
        async let outData = readToEnd(stdout.fileHandleForReading)
        async let errData = readToEnd(stderr.fileHandleForReading)
        let (out, err) = await (outData, errData)
        for await _ in exited.stream {}
        return Output(
            status: process.terminationStatus,
            standardOutput: String(decoding: out, as: UTF8.self),
            standardError: String(decoding: err, as: UTF8.self)
        )
    }

    /// Reads a pipe to its end on a dedicated thread, with read(2) retried on EINTR (Foundation's
    /// readDataToEndOfFile traps when a signal interrupts it).
    private static func readToEnd(_ handle: FileHandle) async -> Data {
        let descriptor = handle.fileDescriptor
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                var data = Data()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count > 0 {
                        data.append(contentsOf: buffer[0..<count])
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                continuation.resume(returning: data)
            }
            thread.start()
        }
    }

    /// A configured, not yet started process for `executable`; the environment is the test
    /// process's own minus every `HUB_` variable, plus `environment`.
    public static func makeProcess(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binDirectory() + "/" + executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HUB_") && !$0.key.hasPrefix("HUBCTL_") }
        // hubctl's calls wait as long as a test's own client would: the suite runs many hubs at
        // once on two cores (a test may still set its own).
        if executable == "hubctl" { merged["HUBCTL_TIMEOUT_SECONDS"] = "60" }
        merged.merge(environment) { _, new in new }
        process.environment = merged
        if let workingDirectory {
            process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        }
        return process
    }
}
