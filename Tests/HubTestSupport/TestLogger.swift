import Foundation
public import Logging
import Synchronization

/// A logger for tests: warnings and worse by default, `HUB_TEST_LOG_LEVEL=debug` for more.
public func makeTestLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["HUB_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}

/// Every line a logger wrote — message, metadata, source — at any level, for tests that read a
/// hub's logs the way an operator's log store would keep them.
public final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    public init() {}

    /// A logger at `level` (trace: everything) whose lines this capture keeps.
    public func logger(_ label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in Handler(capture: self, label: label) }
        logger.logLevel = level
        return logger
    }

    /// What was logged so far, one line per entry.
    public var text: String { self.lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let capture: LogCapture
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let error = event.error.map { " error=\(String(reflecting: $0))" } ?? ""
            self.capture.lines.withLock { $0.append("\(event.level) \(self.label) [\(event.source)] \(event.message) \(fields)\(error)") }
        }
    }
}
