import HubFHIR
import Testing

@testable import HubResourcesCore

@Suite struct AccessFactsTests {
    static func consent(_ provision: String) throws -> JSONObject {
        try #require(
            try JSONParser.parse(
                Array(#"{"resourceType":"Consent","status":"active","patient":{"reference":"Patient/p1"},"provision":\#(provision)}"#.utf8)
            ).objectValue)
    }

    @Test func consentProvisionsBecomeRulesPerOrganization() throws {
        let permit = try Self.consent(
            #"{"type":"permit","period":{"start":"2026-01-01","end":"2026-12-31"},"actor":[{"reference":{"reference":"Organization/b"}},{"reference":{"reference":"Organization/c"}}]}"#
        )
        let rules = AccessFacts(permit, type: .consent, id: "k1", patient: "p1", writer: "a", creating: true, emergency: false).consentRules
        #expect(rules.map(\.organization) == ["b", "c"])
        #expect(rules.allSatisfy { $0.permit && $0.start != nil && $0.end != nil })
        // No actors: everyone. No type: a deny.
        let denyAll = AccessFacts(
            try Self.consent(#"{"type":"deny"}"#), type: .consent, id: "k2", patient: "p1", writer: "a", creating: true, emergency: false
        ).consentRules
        #expect(denyAll.count == 1 && denyAll[0].organization == nil && !denyAll[0].permit)
        // A provision about a practitioner only is no rule about organizations — in particular
        // not a permit for everyone.
        let practitioner = try Self.consent(#"{"type":"permit","actor":[{"reference":{"reference":"Practitioner/dr-li"}}]}"#)
        #expect(
            AccessFacts(practitioner, type: .consent, id: "k3", patient: "p1", writer: "a", creating: true, emergency: false).consentRules.isEmpty)
        // An inactive Consent has no rules.
        var inactive = permit
        inactive["status"] = .string("inactive")
        #expect(AccessFacts(inactive, type: .consent, id: "k4", patient: "p1", writer: "a", creating: true, emergency: false).consentRules.isEmpty)
    }

    @Test func referralsShareThroughTheirOwnParties() throws {
        let task = try #require(
            try JSONParser.parse(
                Array(
                    #"{"resourceType":"Task","status":"requested","for":{"reference":"Patient/p1"},"owner":{"reference":"Organization/b"},"basedOn":[{"reference":"ServiceRequest/other-patients"}]}"#
                        .utf8)
            ).objectValue)
        let facts = AccessFacts(task, type: .task, id: "t1", patient: "p1", writer: "a", creating: true, emergency: false)
        #expect(facts.shares.map { "\($0.type)/\($0.id)>\($0.organization)" } == ["Task/t1>b"])
        #expect(facts.care == nil)
        var accepted = task
        accepted["status"] = .string("accepted")
        #expect(AccessFacts(accepted, type: .task, id: "t1", patient: "p1", writer: "b", creating: false, emergency: false).care?.organization == "b")
    }
}
