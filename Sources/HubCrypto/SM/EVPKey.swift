import COpenSSL

/// An OpenSSL `EVP_PKEY`, freed with its last reference.
///
/// OpenSSL allows concurrent use of one key from many threads as long as each operation has its
/// own context (which every caller here creates), hence `@unchecked Sendable`.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(self.pointer)
    }

    func requireSM2() throws(CryptographyError) {
        guard EVP_PKEY_is_a(self.pointer, "SM2") == 1 else {
            throw CryptographyError(.invalidEncoding, "the key is not an SM2 key")
        }
    }

    static func read(pem: String, private: Bool) throws(CryptographyError) -> EVPKey {
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw OpenSSL.failure("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        let key = `private` ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        guard let key else {
            ERR_clear_error()
            throw CryptographyError(.invalidEncoding, "not a PEM \(`private` ? "private" : "public") key")
        }
        return EVPKey(key)
    }

    static func read(der: [UInt8]) throws(CryptographyError) -> EVPKey {
        let key = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key else {
            ERR_clear_error()
            throw CryptographyError(.invalidEncoding, "not a DER SubjectPublicKeyInfo")
        }
        return EVPKey(key)
    }

    func privatePEM() throws(CryptographyError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSL.failure("BIO_new") }
        defer { BIO_free(bio) }
        try OpenSSL.check(PEM_write_bio_PrivateKey(bio, self.pointer, nil, nil, 0, nil, nil), "PEM private key")
        return OpenSSL.string(from: bio)
    }

    func publicPEM() -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PUBKEY(bio, self.pointer) == 1 else { return "" }
        return OpenSSL.string(from: bio)
    }

    func publicDER() -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(self.pointer, &output)
        guard length > 0, let output else { return [] }
        defer { hub_openssl_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    func encodedPublicPoint() -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        let length = EVP_PKEY_get1_encoded_public_key(self.pointer, &output)
        guard length > 0, let output else { return [] }
        defer { hub_openssl_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }
}
