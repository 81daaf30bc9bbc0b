import COpenSSL

/// SM3 (GB/T 32905-2016) through the system OpenSSL.
///
/// Digest contexts are pooled (``ContextPool``).
public struct SM3: HashFunction {
    public let algorithm = AlgorithmIdentifier.sm3
    public let digestByteCount = 32
    let md: FetchedAlgorithm
    private let contexts: ContextPool

    public init() throws(CryptographyError) {
        guard let md = FetchedAlgorithm.digest("SM3") else {
            throw CryptographyError(.configuration, "this OpenSSL (\(OpenSSL.version)) has no SM3")
        }
        self.md = md
        self.contexts = ContextPool(make: { EVP_MD_CTX_new() }, free: { EVP_MD_CTX_free($0) })
    }

    public func digest(_ message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        try self.contexts.with { (context) throws(CryptographyError) -> [UInt8] in
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
}
