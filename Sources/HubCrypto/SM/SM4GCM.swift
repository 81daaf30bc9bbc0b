import COpenSSL

/// SM4 in GCM mode (RFC 8998, NIST SP 800-38D with SM4 as the block cipher).
///
/// OpenSSL 3.0 has SM4 but no SM4-GCM, so on such a system the mode is assembled from
/// OpenSSL's own parts: its generic GCM implementation (`CRYPTO_gcm128_*`, whose GHASH uses
/// carry-less multiplication where the CPU has it — constant-time, unlike a table-driven GHASH
/// written by hand) driven by OpenSSL's SM4 for single blocks (the hash key H and the tag mask)
/// and SM4-CTR for the bulk. Where OpenSSL offers native SM4-GCM (3.3 and later), that is used
/// instead; the output is identical.
public struct SM4GCM: AuthenticatedCipher {
    public let algorithm = AlgorithmIdentifier.sm4GCM
    public let keyByteCount = 16
    public let nonceByteCount = 12
    public let tagByteCount = 16

    private enum Implementation: Sendable {
        case native(EVPAuthenticatedCipher)
        case assembled(ecb: FetchedAlgorithm, ctr: FetchedAlgorithm)
    }
    private let implementation: Implementation

    /// Whether OpenSSL's native SM4-GCM is in use (false: the assembled construction).
    public var isNative: Bool {
        if case .native = self.implementation { return true }
        return false
    }

    /// - Parameter preferNative: Use OpenSSL's SM4-GCM when it exists. Tests pass false to
    ///   exercise the assembled construction on systems that have both.
    public init(preferNative: Bool = true) throws(CryptographyError) {
        if preferNative, let native = EVPAuthenticatedCipher(name: "SM4-GCM", algorithm: .sm4GCM, keyByteCount: 16) {
            self.implementation = .native(native)
            return
        }
        guard let ecb = FetchedAlgorithm.cipher("SM4-ECB"), let ctr = FetchedAlgorithm.cipher("SM4-CTR") else {
            throw CryptographyError(.configuration, "this OpenSSL (\(OpenSSL.version)) has no SM4")
        }
        self.implementation = .assembled(ecb: ecb, ctr: ctr)
    }

    public func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        switch self.implementation {
        case .native(let cipher):
            return try cipher.seal(plaintext, key: key, nonce: nonce, additionalData: additionalData)
        case .assembled(let ecb, let ctr):
            try self.checkSizes(key: key, nonce: nonce, textCount: plaintext.count)
            return try AssembledGCM.run(ecb: ecb, ctr: ctr, key: key, nonce: nonce, additionalData: additionalData) {
                (gcm) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) in
                var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
                if !plaintext.isEmpty {
                    let status = CRYPTO_gcm128_encrypt_ctr32(gcm, plaintext, &ciphertext, plaintext.count, AssembledGCM.ctr32)
                    guard status == 0 else { throw OpenSSL.failure("SM4-GCM encrypt") }
                }
                var tag = [UInt8](repeating: 0, count: 16)
                CRYPTO_gcm128_tag(gcm, &tag, 16)
                return (ciphertext, tag)
            }
        }
    }

    public func open(
        _ ciphertext: [UInt8],
        tag: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> [UInt8] {
        switch self.implementation {
        case .native(let cipher):
            return try cipher.open(ciphertext, tag: tag, key: key, nonce: nonce, additionalData: additionalData)
        case .assembled(let ecb, let ctr):
            try self.checkSizes(key: key, nonce: nonce, textCount: ciphertext.count)
            guard tag.count == 16 else { throw CryptographyError(.malformed, "SM4-GCM tag must be 16 bytes") }
            return try AssembledGCM.run(ecb: ecb, ctr: ctr, key: key, nonce: nonce, additionalData: additionalData) {
                (gcm) throws(CryptographyError) -> [UInt8] in
                var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
                if !ciphertext.isEmpty {
                    let status = CRYPTO_gcm128_decrypt_ctr32(gcm, ciphertext, &plaintext, ciphertext.count, AssembledGCM.ctr32)
                    guard status == 0 else { throw OpenSSL.failure("SM4-GCM decrypt") }
                }
                // CRYPTO_gcm128_finish compares tags in constant time; 0 means they match.
                guard CRYPTO_gcm128_finish(gcm, tag, 16) == 0 else {
                    throw CryptographyError(.authenticationFailed, "SM4-GCM: wrong key, or ciphertext, tag, header or context altered")
                }
                return plaintext
            }
        }
    }
}

/// The glue between OpenSSL's generic GCM and SM4.
private enum AssembledGCM {
    /// What the C callbacks need, reached through GCM's opaque `key` pointer.
    struct Engines {
        var ecb: OpaquePointer
        var ctr: OpaquePointer
    }

    /// One block through SM4 (ECB, no padding): GCM's H = E(0) and E(J0).
    static let block: block128_f = { input, output, key in
        guard let input, let output, let key else { return }
        let engines = key.assumingMemoryBound(to: Engines.self).pointee
        var written: Int32 = 0
        _ = EVP_EncryptUpdate(engines.ecb, output, &written, input, 16)
    }

    /// `blocks` blocks of SM4-CTR starting at counter block `ivec`. OpenSSL's CTR increments
    /// all 128 bits where GCM increments the low 32; they agree because messages are capped far
    /// below 2^32 blocks, and GCM starts the counter at 2.
    static let ctr32: ctr128_f = { input, output, blocks, key, ivec in
        guard let input, let output, let key, let ivec else { return }
        let engines = key.assumingMemoryBound(to: Engines.self).pointee
        var written: Int32 = 0
        _ = EVP_EncryptInit_ex2(engines.ctr, nil, nil, ivec, nil)
        _ = EVP_EncryptUpdate(engines.ctr, output, &written, input, Int32(blocks * 16))
    }

    /// Sets up SM4 contexts and a GCM context for one message, runs `body`, frees everything.
    static func run<Result>(
        ecb: FetchedAlgorithm,
        ctr: FetchedAlgorithm,
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8],
        _ body: (OpaquePointer) throws(CryptographyError) -> Result
    ) throws(CryptographyError) -> Result {
        guard let ecbContext = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ecbContext) }
        guard let ctrContext = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctrContext) }
        try OpenSSL.check(EVP_EncryptInit_ex2(ecbContext, ecb.pointer, key.bytes, nil, nil), "SM4-ECB init")
        _ = EVP_CIPHER_CTX_set_padding(ecbContext, 0)
        let zeroCounter = [UInt8](repeating: 0, count: 16)
        try OpenSSL.check(EVP_EncryptInit_ex2(ctrContext, ctr.pointer, key.bytes, zeroCounter, nil), "SM4-CTR init")

        let engines = UnsafeMutablePointer<Engines>.allocate(capacity: 1)
        engines.initialize(to: Engines(ecb: ecbContext, ctr: ctrContext))
        defer { engines.deallocate() }
        guard let gcm = CRYPTO_gcm128_new(engines, Self.block) else { throw OpenSSL.failure("CRYPTO_gcm128_new") }
        defer { CRYPTO_gcm128_release(gcm) }
        CRYPTO_gcm128_setiv(gcm, nonce, nonce.count)
        if !additionalData.isEmpty {
            guard CRYPTO_gcm128_aad(gcm, additionalData, additionalData.count) == 0 else {
                throw OpenSSL.failure("SM4-GCM AAD")
            }
        }
        return try body(gcm)
    }
}
