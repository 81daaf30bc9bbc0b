import COpenSSL

/// A GCM cipher that OpenSSL implements whole, through the EVP AEAD interface.
///
/// Used for SM4-GCM where the OpenSSL at hand has it (3.3 and later), instead of the assembled
/// ``SM4GCM`` construction; the output is identical. Tests exercise this code path with
/// OpenSSL's AES-256-GCM, since this machine's OpenSSL 3.0 has no native SM4-GCM.
struct EVPAuthenticatedCipher: AuthenticatedCipher {
    let algorithm: AlgorithmIdentifier
    let keyByteCount: Int
    let nonceByteCount = 12
    let tagByteCount = 16
    let cipher: FetchedAlgorithm

    /// Nil when this OpenSSL does not implement `name`.
    init?(name: String, algorithm: AlgorithmIdentifier, keyByteCount: Int) {
        guard let cipher = FetchedAlgorithm.cipher(name) else { return nil }
        self.cipher = cipher
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
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try OpenSSL.check(EVP_EncryptInit_ex2(context, self.cipher.pointer, key.bytes, nonce, nil), "\(self.algorithm) init")
        var length: Int32 = 0
        if !additionalData.isEmpty {
            try OpenSSL.check(
                EVP_EncryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "\(self.algorithm) AAD"
            )
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            try OpenSSL.check(
                EVP_EncryptUpdate(context, &ciphertext, &written, plaintext, Int32(plaintext.count)),
                "\(self.algorithm) encrypt"
            )
        }
        var finalLength: Int32 = 0
        try ciphertext.withUnsafeMutableBufferPointer { (buffer) throws(CryptographyError) in
            try OpenSSL.check(EVP_EncryptFinal_ex(context, buffer.baseAddress! + Int(written), &finalLength), "\(self.algorithm) final")
        }
        var tag = [UInt8](repeating: 0, count: 16)
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, &tag), "\(self.algorithm) tag")
        return (Array(ciphertext.prefix(Int(written + finalLength))), tag)
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
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try OpenSSL.check(EVP_DecryptInit_ex2(context, self.cipher.pointer, key.bytes, nonce, nil), "\(self.algorithm) init")
        var length: Int32 = 0
        if !additionalData.isEmpty {
            try OpenSSL.check(
                EVP_DecryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "\(self.algorithm) AAD"
            )
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            try OpenSSL.check(
                EVP_DecryptUpdate(context, &plaintext, &written, ciphertext, Int32(ciphertext.count)),
                "\(self.algorithm) decrypt"
            )
        }
        var expectedTag = tag
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, &expectedTag), "\(self.algorithm) set tag")
        var finalLength: Int32 = 0
        let verified = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context, buffer.baseAddress! + Int(written), &finalLength)
        }
        guard verified == 1 else {
            ERR_clear_error()
            throw CryptographyError(.authenticationFailed, "\(self.algorithm): wrong key, or ciphertext, tag, header or context altered")
        }
        return Array(plaintext.prefix(Int(written + finalLength)))
    }
}
