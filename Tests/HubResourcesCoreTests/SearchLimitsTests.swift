import HubFHIR
import HubResourcesCore
import Testing

/// What one search may ask for is bounded before any work is done (issue #14, item 11): each
/// limit is refused with `too-costly`, naming it; just under each limit is accepted.
@Suite struct SearchLimitsTests {
    typealias Limits = SearchQuery.Limits

    static func refusal(_ parameters: [(String, String)], type: ResourceType = .patient) -> ResourceError? {
        do {
            _ = try SearchQuery(type: type, parameters: parameters, lenient: false)
            return nil
        } catch {
            return error
        }
    }

    @Test func eachLimitIsRefusedAsTooCostlyAndJustUnderItIsAccepted() throws {
        let many = (0..<Limits.values).map { "male\($0)" }
        let cases: [(name: String, over: [(String, String)], under: [(String, String)], says: String)] = [
            (
                "parameters", Array(repeating: ("gender", "male"), count: Limits.parameters + 1),
                Array(repeating: ("gender", "male"), count: Limits.parameters), "\(Limits.parameters) parameters"
            ),
            ("values", [("gender", (many + ["x"]).joined(separator: ","))], [("gender", many.joined(separator: ","))], "\(Limits.values) values"),
            (
                "value length", [("identifier", String(repeating: "9", count: Limits.valueLength + 1))],
                [("identifier", String(repeating: "9", count: Limits.valueLength))], "\(Limits.valueLength) characters"
            ),
            (
                "string length", [("name:contains", String(repeating: "王", count: Limits.stringLength + 1))],
                [("name:contains", String(repeating: "王", count: Limits.stringLength))], "\(Limits.stringLength) characters"
            ),
            (
                "includes", Array(repeating: ("_revinclude", "Observation:subject"), count: Limits.includes + 1),
                Array(repeating: ("_revinclude", "Observation:subject"), count: Limits.includes), "\(Limits.includes) _include"
            ),
        ]
        for limit in cases {
            let refused = try #require(Self.refusal(limit.over), "\(limit.name) over the limit was accepted")
            #expect(refused.issueType == .tooCostly, "\(limit.name)")
            #expect(refused.code == .invalid, "\(limit.name)")
            #expect(refused.diagnostics.contains(limit.says), "\(limit.name): \(refused.diagnostics)")
            #expect(Self.refusal(limit.under) == nil, "\(limit.name) at the limit was refused: \(String(describing: Self.refusal(limit.under)))")
        }
    }
}
