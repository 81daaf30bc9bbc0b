import COpenSSL
import Synchronization

/// SM3 (GB/T 32905-2016) through the system OpenSSL.
///
/// Digest contexts are pooled and reused: allocating and freeing one per call cost a fifth of
/// the throughput on 1 KiB messages (measured with ops/bench/crypto).
public struct SM3: HashFunction {
    public let algorithm = AlgorithmIdentifier.sm3
    public let digestByteCount = 32
    let md: FetchedAlgorithm
    private let contexts: DigestContextPool

    public init() throws(CryptographyError) {
        guard let md = FetchedAlgorithm.digest("SM3") else {
            throw CryptographyError(.configuration, "this OpenSSL (\(OpenSSL.version)) has no SM3")
        }
        self.md = md
        self.contexts = DigestContextPool()
    }

    public func digest(_ message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        guard let context = self.contexts.take() else { throw OpenSSL.failure("EVP_MD_CTX_new") }
        defer { self.contexts.give(context) }
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        try OpenSSL.check(EVP_DigestInit_ex2(context, self.md.pointer, nil), "SM3 init")
        try message.withNonNullPointer { (input, count) throws(CryptographyError) in
            try OpenSSL.check(EVP_DigestUpdate(context, input, count), "SM3 update")
        }
        try OpenSSL.check(EVP_DigestFinal_ex(context, &output, &length), "SM3 final")
        return output
    }
}

/// Reusable `EVP_MD_CTX`s. A context is used by one caller at a time (taken, then given back);
/// the pool keeps at most a few idle ones.
final class DigestContextPool: Sendable {
    private let idle = Mutex<[UInt]>([])
    private static let capacity = 16

    func take() -> OpaquePointer? {
        if let address = self.idle.withLock({ $0.popLast() }) {
            return OpaquePointer(bitPattern: address)
        }
        return EVP_MD_CTX_new()
    }

    func give(_ context: OpaquePointer) {
        let kept = self.idle.withLock { idle -> Bool in
            guard idle.count < Self.capacity else { return false }
            idle.append(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))))
            return true
        }
        if !kept { EVP_MD_CTX_free(context) }
    }

    deinit {
        for address in self.idle.withLock({ $0 }) {
            EVP_MD_CTX_free(OpaquePointer(bitPattern: address))
        }
    }
}
