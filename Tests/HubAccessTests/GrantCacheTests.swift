import Foundation
import HubAudit
import Testing

@testable import HubAccess

/// The cache of resolved grants keeps nothing it cannot vouch for: nothing while not serving,
/// nothing resolved before a change, nothing past its token's expiry or its maximum age.
@Suite struct GrantCacheTests {
    static let grant = AccessGrant(principal: "test-system", role: .system, organization: "test-hospital", scopes: [])
    static func key(_ token: String) throws -> GrantCache.Key {
        try GrantCache.Key(Authenticator.Credentials(bearer: token, certificateSHA256: nil))
    }

    @Test func keepsNothingUntilServing() throws {
        let cache = GrantCache()
        let now = Date()
        let key = try Self.key("hub.a")
        cache.store(Self.grant, for: key, until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: key, now: now) == nil)
        cache.resume()
        cache.store(Self.grant, for: key, until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: key, now: now) == Self.grant)
        // Suspending forgets, and resuming starts from empty.
        cache.suspend()
        #expect(cache.grant(for: key, now: now) == nil)
        cache.resume()
        #expect(cache.grant(for: key, now: now) == nil)
    }

    @Test func dropsWhatWasResolvedBeforeAChange() throws {
        let cache = GrantCache()
        cache.resume()
        let now = Date()
        let key = try Self.key("hub.a")
        // A lookup starts, a revocation lands, then the lookup's (stale) answer arrives.
        let ticket = cache.ticket()
        cache.invalidate()
        cache.store(Self.grant, for: key, until: nil, ticket: ticket, now: now)
        #expect(cache.grant(for: key, now: now) == nil)
        // A change empties what was kept.
        cache.store(Self.grant, for: key, until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: key, now: now) == Self.grant)
        cache.invalidate()
        #expect(cache.grant(for: key, now: now) == nil)
    }

    @Test func honoursExpiryAndMaximumAge() throws {
        let cache = GrantCache(maximumAge: 60)
        cache.resume()
        let now = Date()
        let token = try Self.key("hub.token")
        cache.store(Self.grant, for: token, until: now.addingTimeInterval(5), ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: token, now: now.addingTimeInterval(4)) == Self.grant)
        #expect(cache.grant(for: token, now: now.addingTimeInterval(5)) == nil)
        let certificate = try GrantCache.Key(Authenticator.Credentials(bearer: nil, certificateSHA256: String(repeating: "a", count: 64)))
        cache.store(Self.grant, for: certificate, until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: certificate, now: now.addingTimeInterval(59)) == Self.grant)
        #expect(cache.grant(for: certificate, now: now.addingTimeInterval(61)) == nil)
        // An already expired token is not kept at all.
        cache.store(Self.grant, for: token, until: now.addingTimeInterval(-1), ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: token, now: now) == nil)
    }

    @Test func keysOnEverythingPresented() throws {
        let cache = GrantCache()
        cache.resume()
        let now = Date()
        let alone = try GrantCache.Key(Authenticator.Credentials(bearer: "hub.a"))
        let withCertificate = try GrantCache.Key(Authenticator.Credentials(bearer: "hub.a", certificateSHA256: "ab"))
        let onBehalf = try GrantCache.Key(Authenticator.Credentials(bearer: "hub.a", onBehalfOf: "test-clinician"))
        cache.store(Self.grant, for: alone, until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: withCertificate, now: now) == nil)
        #expect(cache.grant(for: onBehalf, now: now) == nil)
        #expect(cache.grant(for: try Self.key("hub.b"), now: now) == nil)
        // Only the token's hash is kept.
        #expect(alone.tokenHash?.count == 32)
    }

    @Test func emptiesItselfWhenFull() throws {
        let cache = GrantCache(capacity: 3)
        cache.resume()
        let now = Date()
        for index in 0..<3 { cache.store(Self.grant, for: try Self.key("hub.\(index)"), until: nil, ticket: cache.ticket(), now: now) }
        #expect(cache.grant(for: try Self.key("hub.0"), now: now) == Self.grant)
        cache.store(Self.grant, for: try Self.key("hub.3"), until: nil, ticket: cache.ticket(), now: now)
        #expect(cache.grant(for: try Self.key("hub.0"), now: now) == nil)
        #expect(cache.grant(for: try Self.key("hub.3"), now: now) == Self.grant)
        // Full of grants of which some expired: only those go.
        let later = now.addingTimeInterval(30)
        cache.store(Self.grant, for: try Self.key("hub.4"), until: now.addingTimeInterval(10), ticket: cache.ticket(), now: now)
        cache.store(Self.grant, for: try Self.key("hub.5"), until: nil, ticket: cache.ticket(), now: now)
        cache.store(Self.grant, for: try Self.key("hub.6"), until: nil, ticket: cache.ticket(), now: later)
        #expect(cache.grant(for: try Self.key("hub.4"), now: later) == nil)
        #expect(cache.grant(for: try Self.key("hub.5"), now: later) == Self.grant)
        #expect(cache.grant(for: try Self.key("hub.6"), now: later) == Self.grant)
    }
}
