public import Foundation
public import HubFHIR

/// Which versions a history lists (FHIR R4 §3.1.0.11): those written at or after `since`, and
/// those that were the current version at some moment of `at` — a version that started before
/// the period ended and was not replaced before it began.
public struct HistoryWindow: Sendable, Equatable {
    public var since: Date?
    public var at: FHIRDateRange?

    public init(since: Date? = nil, at: FHIRDateRange? = nil) {
        self.since = since
        self.at = at
    }

    /// Every version.
    public static let all = HistoryWindow()

    /// Whether a version written at `written`, replaced at `replaced` (nil: still current), is
    /// in the window — the rule the stores' queries apply.
    public func contains(written: Date, replaced: Date?) -> Bool {
        if let since, written < since { return false }
        if let at {
            guard written < at.high else { return false }
            if let replaced, replaced <= at.low { return false }
        }
        return true
    }
}
