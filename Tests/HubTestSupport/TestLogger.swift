import Foundation
public import Logging

/// A logger for tests: warnings and worse by default, `HUB_TEST_LOG_LEVEL=debug` for more.
public func makeTestLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["HUB_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}
