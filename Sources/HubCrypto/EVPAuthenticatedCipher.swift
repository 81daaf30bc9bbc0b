import COpenSSL

/// A GCM cipher that OpenSSL implements whole, through the EVP AEAD interface.
///
/// Serves AES-256-GCM (``AES256GCM``: swift-crypto's one-shot API derived the key schedule and
/// allocated per message, 0.32 of `openssl speed` at 1 KiB — issue #16), and SM4-GCM where the
/// OpenSSL at hand has it (3.3 and later) instead of the assembled ``SM4GCM`` construction; the
/// output is identical. Contexts are pooled: allocating one per message cost a fifth of the
/// throughput at 1 KiB.
struct EVPAuthenticatedCipher: AuthenticatedCipher {
    let algorithm: AlgorithmIdentifier
    let keyByteCount: Int
    let nonceByteCount = 12
    let tagByteCount = 16
    let cipher: FetchedAlgorithm
    /// Contexts already bound to the cipher: each message then sets only its key and nonce
    /// (binding the cipher again fetched and set up the provider's context every time).
    let contexts: ContextPool

    /// Nil when this OpenSSL does not implement `name`.
    init?(name: String, algorithm: AlgorithmIdentifier, keyByteCount: Int) {
        guard let cipher = FetchedAlgorithm.cipher(name) else { return nil }
        self.cipher = cipher
        self.contexts = ContextPool(
            make: {
                guard let context = EVP_CIPHER_CTX_new() else { return nil }
                guard EVP_CipherInit_ex2(context, cipher.pointer, nil, nil, 1, nil) == 1 else {
                    EVP_CIPHER_CTX_free(context)
                    return nil
                }
                return context
            },
            free: { EVP_CIPHER_CTX_free($0) }
        )
        self.algorithm = algorithm
        self.keyByteCount = keyByteCount
    }

    func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        try self.checkSizes(key: key, nonce: nonce, textCount: plaintext.count)
        return try self.contexts.withNoted { (context, setUp) throws(CryptographyError) in
            try self.seal(plaintext, key: key, nonce: nonce, additionalData: additionalData, context: context, setUp: &setUp)
        }
    }

    private func seal(
        _ plaintext: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8],
        context: OpaquePointer,
        setUp: inout [UInt8]?
    ) throws(CryptographyError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        try Self.initialise(context, key: key, nonce: nonce, setUp: &setUp, encrypting: true, algorithm: self.algorithm)
        var length: Int32 = 0
        if !additionalData.isEmpty {
            try OpenSSL.check(
                EVP_EncryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "\(self.algorithm) AAD"
            )
        }
        // GCM is a stream mode: the output is exactly as long as the input (final writes nothing).
        // Written straight into uninitialised storage: zero-filling first cost ~5% at 1 KiB.
        var written: Int32 = 0
        var status: Int32 = 1
        let ciphertext = [UInt8](unsafeUninitializedCapacity: plaintext.count) { buffer, count in
            if !plaintext.isEmpty { status = EVP_EncryptUpdate(context, buffer.baseAddress, &written, plaintext, Int32(plaintext.count)) }
            count = status == 1 ? Int(written) : 0
        }
        try OpenSSL.check(status, "\(self.algorithm) encrypt")
        var finalLength: Int32 = 0
        let finished = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { EVP_EncryptFinal_ex(context, $0.baseAddress, &finalLength) }
        try OpenSSL.check(finished, "\(self.algorithm) final")
        var tag = [UInt8](repeating: 0, count: 16)
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, &tag), "\(self.algorithm) tag")
        guard Int(written + finalLength) == plaintext.count else { throw CryptographyError(.library, "\(self.algorithm) output length") }
        return (ciphertext, tag)
    }

    func open(
        _ ciphertext: [UInt8],
        tag: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8]
    ) throws(CryptographyError) -> [UInt8] {
        try self.checkSizes(key: key, nonce: nonce, textCount: ciphertext.count)
        guard tag.count == 16 else { throw CryptographyError(.malformed, "\(self.algorithm) tag must be 16 bytes") }
        return try self.contexts.withNoted { (context, setUp) throws(CryptographyError) in
            try self.open(ciphertext, tag: tag, key: key, nonce: nonce, additionalData: additionalData, context: context, setUp: &setUp)
        }
    }

    private func open(
        _ ciphertext: [UInt8],
        tag: [UInt8],
        key: SecretKey,
        nonce: [UInt8],
        additionalData: [UInt8],
        context: OpaquePointer,
        setUp: inout [UInt8]?
    ) throws(CryptographyError) -> [UInt8] {
        try Self.initialise(context, key: key, nonce: nonce, setUp: &setUp, encrypting: false, algorithm: self.algorithm)
        var length: Int32 = 0
        if !additionalData.isEmpty {
            try OpenSSL.check(
                EVP_DecryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "\(self.algorithm) AAD"
            )
        }
        var written: Int32 = 0
        var status: Int32 = 1
        let plaintext = [UInt8](unsafeUninitializedCapacity: ciphertext.count) { buffer, count in
            if !ciphertext.isEmpty { status = EVP_DecryptUpdate(context, buffer.baseAddress, &written, ciphertext, Int32(ciphertext.count)) }
            count = status == 1 ? Int(written) : 0
        }
        try OpenSSL.check(status, "\(self.algorithm) decrypt")
        var expectedTag = tag
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, &expectedTag), "\(self.algorithm) set tag")
        var finalLength: Int32 = 0
        let verified = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { EVP_DecryptFinal_ex(context, $0.baseAddress, &finalLength) }
        guard verified == 1 else {
            ERR_clear_error()
            throw CryptographyError(.authenticationFailed, "\(self.algorithm): wrong key, or ciphertext, tag, header or context altered")
        }
        guard Int(written + finalLength) == ciphertext.count else { throw CryptographyError(.library, "\(self.algorithm) output length") }
        return plaintext
    }

    /// Sets the context's nonce, and its key unless it already holds this one: deriving the key
    /// schedule and the GHASH key anew was most of the cost of a 1 KiB message (issue #16). A
    /// pooled context only ever holds the key of the last message it served, as before.
    private static func initialise(
        _ context: OpaquePointer, key: SecretKey, nonce: [UInt8], setUp: inout [UInt8]?, encrypting: Bool, algorithm: AlgorithmIdentifier
    ) throws(CryptographyError) {
        let holdsKey = setUp.map { Self.equal($0, key.bytes) } ?? false
        let status =
            encrypting
            ? EVP_EncryptInit_ex2(context, nil, holdsKey ? nil : key.bytes, nonce, nil)
            : EVP_DecryptInit_ex2(context, nil, holdsKey ? nil : key.bytes, nonce, nil)
        guard status == 1 else {
            setUp = nil
            throw OpenSSL.failure("\(algorithm) init")
        }
        setUp = key.bytes
    }

    /// Equality that takes as long whatever the keys hold.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
