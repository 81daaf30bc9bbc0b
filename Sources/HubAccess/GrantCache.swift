public import Foundation
import HubCrypto
import Synchronization

/// The grants credentials resolved to, kept between requests so that a request does not look its
/// caller up again (issue #16: one principal lookup per request was a third of a read's SQL).
///
/// The cache is only ever as fresh as what it hears: it serves nothing until
/// ``AccessChangeFeed`` tells it that the hub is listening to every change of tokens, principals
/// and organizations (``resume()``), empties itself at every change (``invalidate()``), and
/// stops serving the moment the feed cannot vouch for it (``suspend()``). A revocation is
/// therefore in force at the next request, not at an expiry.
///
/// A lookup that began before a change must not put what it read back after the change emptied
/// the cache: a lookup takes a ``Ticket`` before it reads, and ``store(_:for:until:ticket:now:)``
/// drops its grant when anything changed since.
public final class GrantCache: Sendable {
    /// What a request presented, with the bearer token only as its SHA-256.
    public struct Key: Hashable, Sendable {
        var tokenHash: [UInt8]?
        var certificateSHA256: String?
        var onBehalfOf: String?

        init(_ credentials: Authenticator.Credentials) throws {
            self.tokenHash = try credentials.bearer.map { try SHA256Hash().digest(Array($0.utf8)) }
            self.certificateSHA256 = credentials.certificateSHA256
            self.onBehalfOf = credentials.onBehalfOf
        }
    }

    /// The generation a lookup started in.
    public struct Ticket: Sendable, Equatable {
        let generation: UInt64
    }

    struct Entry {
        var grant: AccessGrant
        var until: Date
    }

    struct State {
        var serving = false
        var generation: UInt64 = 0
        var entries: [Key: Entry] = [:]

        mutating func clear(serving: Bool) {
            self.serving = serving
            self.generation &+= 1
            self.entries.removeAll(keepingCapacity: true)
        }
    }

    /// The longest a grant is kept even when nothing changes: a backstop, not the mechanism.
    let maximumAge: TimeInterval
    /// Entries at most; reaching it drops the expired ones, or else empties the cache (rare, and
    /// cheap to refill).
    let capacity: Int
    private let state = Mutex(State())

    public init(maximumAge: TimeInterval = 60, capacity: Int = 10_000) {
        self.maximumAge = maximumAge
        self.capacity = capacity
    }

    /// The grant `key` resolved to, when still valid at `now` and the cache is serving.
    func grant(for key: Key, now: Date) -> AccessGrant? {
        self.state.withLock { state in
            guard state.serving, let entry = state.entries[key] else { return nil }
            guard entry.until > now else {
                state.entries[key] = nil
                return nil
            }
            return entry.grant
        }
    }

    /// Taken before resolving credentials, and handed to ``store(_:for:until:ticket:now:)``.
    func ticket() -> Ticket {
        self.state.withLock { Ticket(generation: $0.generation) }
    }

    /// Keeps `grant` for `key` until `until` (a token's expiry; nil for none) or the maximum age,
    /// unless anything changed since `ticket` was taken or the cache is not serving.
    func store(_ grant: AccessGrant, for key: Key, until: Date?, ticket: Ticket, now: Date) {
        let until = min(until ?? .distantFuture, now.addingTimeInterval(self.maximumAge))
        self.state.withLock { state in
            guard state.serving, state.generation == ticket.generation, until > now else { return }
            if state.entries.count >= self.capacity {
                // Expired grants go first; only a cache full of live ones starts again empty.
                state.entries = state.entries.filter { $0.value.until > now }
                if state.entries.count >= self.capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[key] = Entry(grant: grant, until: until)
        }
    }

    /// Something a grant may have been resolved from changed: forget every grant.
    public func invalidate() {
        self.state.withLock { $0.clear(serving: $0.serving) }
    }

    /// The hub now hears every change: start serving, from empty (changes made before listening
    /// began were not heard).
    public func resume() {
        self.state.withLock { $0.clear(serving: true) }
    }

    /// The hub may miss changes: stop serving, and forget every grant.
    public func suspend() {
        self.state.withLock { $0.clear(serving: false) }
    }

    /// Whether grants are served from the cache (for tests and `/readyz` details).
    public var isServing: Bool {
        self.state.withLock { $0.serving }
    }
}
