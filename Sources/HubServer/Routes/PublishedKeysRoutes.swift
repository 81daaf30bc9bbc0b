import Foundation
public import HubCrypto
public import Hummingbird

/// `GET /.well-known/hub-keys`: the public keys that verify what the hub signs (audit tree heads
/// and reports), current and retired, with what a verifier needs to use them.
///
/// The format (``PublishedKeysDocument``) is documented in `docs/crypto.md`; it is public by
/// design (no authentication).
public struct PublishedKeysRoutes<Context: RequestContext>: Sendable {
    let keyStore: any KeyStore
    let suite: CryptoSuite

    public init(keyStore: any KeyStore, suite: CryptoSuite) {
        self.keyStore = keyStore
        self.suite = suite
    }

    public func add(to router: Router<Context>) {
        router.get(".well-known/hub-keys") { _, _ in
            let keys = try await self.keyStore.verifyingKeys()
            return Response.json(
                PublishedKeysDocument(suite: self.suite.name, keys: keys),
                headers: [.cacheControl: "public, max-age=300"]
            )
        }
    }
}
