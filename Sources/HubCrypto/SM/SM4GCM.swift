import COpenSSL

/// SM4 in GCM mode (RFC 8998, NIST SP 800-38D with SM4 as the block cipher).
///
/// OpenSSL 3.0 has SM4 but no SM4-GCM, so on such a system the mode is assembled from
/// OpenSSL's own parts: its generic GCM implementation (`CRYPTO_gcm128_*`, whose GHASH uses
/// carry-less multiplication where the CPU has it — constant-time, unlike a table-driven GHASH
/// written by hand) driven by OpenSSL's SM4-CTR, both for the bulk and for the single blocks
/// (the hash key H = E(0) and the tag mask E(J0) are CTR keystream blocks). Where OpenSSL offers native SM4-GCM (3.3 and later), that is used
/// instead; the output is identical.
public struct SM4GCM: AuthenticatedCipher {
    public let algorithm = AlgorithmIdentifier.sm4GCM
    public let keyByteCount = 16
    public let nonceByteCount = 12
    public let tagByteCount = 16

    private enum Implementation: Sendable {
        case native(EVPAuthenticatedCipher)
        case assembled(ctr: FetchedAlgorithm, contexts: ContextPool)
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
        guard let ctr = FetchedAlgorithm.cipher("SM4-CTR") else {
            throw CryptographyError(.configuration, "this OpenSSL (\(OpenSSL.version)) has no SM4")
        }
        self.implementation = .assembled(
            ctr: ctr,
            contexts: ContextPool(make: { EVP_CIPHER_CTX_new() }, free: { EVP_CIPHER_CTX_free($0) })
        )
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
        case .assembled(let ctr, let contexts):
            try self.checkSizes(key: key, nonce: nonce, textCount: plaintext.count)
            return try AssembledGCM.run(ctr: ctr, contexts: contexts, key: key, nonce: nonce, additionalData: additionalData) {
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
        case .assembled(let ctr, let contexts):
            try self.checkSizes(key: key, nonce: nonce, textCount: ciphertext.count)
            guard tag.count == 16 else { throw CryptographyError(.malformed, "SM4-GCM tag must be 16 bytes") }
            return try AssembledGCM.run(ctr: ctr, contexts: contexts, key: key, nonce: nonce, additionalData: additionalData) {
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
    /// Sixteen zero bytes: SM4-CTR over them from counter block X yields E(X).
    static let zeroBlock = [UInt8](repeating: 0, count: 16)

    /// One block through SM4: GCM's H = E(0) and E(J0), as the CTR keystream from counter
    /// block `input` (so one keyed context serves both single blocks and the bulk).
    static let block: block128_f = { input, output, key in
        guard let input, let output, let key else { return }
        let context = OpaquePointer(key)
        var written: Int32 = 0
        _ = EVP_EncryptInit_ex2(context, nil, nil, input, nil)
        _ = AssembledGCM.zeroBlock.withUnsafeBufferPointer { zeros in
            EVP_EncryptUpdate(context, output, &written, zeros.baseAddress, 16)
        }
    }

    /// `blocks` blocks of SM4-CTR starting at counter block `ivec`. OpenSSL's CTR increments
    /// all 128 bits where GCM increments the low 32; they agree because messages are capped far
    /// below 2^32 blocks, and GCM starts the counter at 2.
    static let ctr32: ctr128_f = { input, output, blocks, key, ivec in
        guard let input, let output, let key, let ivec else { return }
        let context = OpaquePointer(key)
        var written: Int32 = 0
        _ = EVP_EncryptInit_ex2(context, nil, nil, ivec, nil)
        _ = EVP_EncryptUpdate(context, output, &written, input, Int32(blocks * 16))
    }

    /// Keys a pooled SM4-CTR context and a GCM context for one message, runs `body`, releases them.
    static func run<Result>(
        ctr: FetchedAlgorithm,
        contexts: ContextPool,
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8],
        _ body: (OpaquePointer) throws(CryptographyError) -> Result
    ) throws(CryptographyError) -> Result {
        try contexts.with { (context) throws(CryptographyError) -> Result in
            try OpenSSL.check(EVP_EncryptInit_ex2(context, ctr.pointer, key.bytes, zeroBlock, nil), "SM4-CTR init")
            guard let gcm = CRYPTO_gcm128_new(UnsafeMutableRawPointer(context), Self.block) else {
                throw OpenSSL.failure("CRYPTO_gcm128_new")
            }
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
}
