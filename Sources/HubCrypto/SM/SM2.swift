import COpenSSL

/// SM2 signatures with SM3 (GB/T 32918.2, GM/T 0003.2) through the system OpenSSL.
///
/// The distinguishing ID is set explicitly to the standard default `1234567812345678`
/// (GB/T 35276): OpenSSL 3.0 otherwise uses an empty ID, and its signatures would not verify
/// anywhere else. Signatures are DER `SEQUENCE {r, s}`; public keys are SubjectPublicKeyInfo
/// with `id-ecPublicKey` and the SM2 curve (1.2.156.10197.1.301).
public struct SM2Signature: SignatureScheme {
    public let algorithm = AlgorithmIdentifier.sm2WithSM3
    /// GB/T 35276-2017's default user ID.
    public static let defaultDistinguishingID: [UInt8] = Array("1234567812345678".utf8)
    let distinguishingID: [UInt8]

    public init(distinguishingID: [UInt8] = SM2Signature.defaultDistinguishingID) {
        self.distinguishingID = distinguishingID
    }

    public func generateSigningKey() throws(CryptographyError) -> any SigningKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else { throw OpenSSL.failure("SM2 key context") }
        defer { EVP_PKEY_CTX_free(context) }
        try OpenSSL.check(EVP_PKEY_keygen_init(context), "SM2 keygen init")
        var key: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_generate(context, &key), "SM2 keygen")
        guard let key else { throw OpenSSL.failure("SM2 keygen") }
        return SM2SigningKey(key: EVPKey(key), distinguishingID: self.distinguishingID)
    }

    public func signingKey(pem: String) throws(CryptographyError) -> any SigningKey {
        let key = try EVPKey.read(pem: pem, private: true)
        try key.requireSM2()
        return SM2SigningKey(key: key, distinguishingID: self.distinguishingID)
    }

    public func verifyingKey(der: [UInt8]) throws(CryptographyError) -> any VerifyingKey {
        let key = try EVPKey.read(der: der)
        try key.requireSM2()
        return SM2VerifyingKey(key: key, distinguishingID: self.distinguishingID)
    }

    public func verifyingKey(pem: String) throws(CryptographyError) -> any VerifyingKey {
        let key = try EVPKey.read(pem: pem, private: false)
        try key.requireSM2()
        return SM2VerifyingKey(key: key, distinguishingID: self.distinguishingID)
    }

    /// A public key from its uncompressed point `04 ‖ X ‖ Y`.
    public func verifyingKey(rawPoint: [UInt8]) throws(CryptographyError) -> any VerifyingKey {
        guard rawPoint.count == 65, rawPoint.first == 0x04 else {
            throw CryptographyError(.invalidEncoding, "an SM2 point is 65 bytes starting with 04")
        }
        return try self.verifyingKey(der: Self.subjectPublicKeyInfoPrefix + rawPoint)
    }

    /// DER of SEQUENCE { SEQUENCE { id-ecPublicKey, sm2p256v1 }, BIT STRING (65 bytes follow) }.
    static let subjectPublicKeyInfoPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D, 0x03, 0x42, 0x00,
    ]
}

/// An SM2 private key held by OpenSSL.
struct SM2SigningKey: SigningKey {
    let algorithm = AlgorithmIdentifier.sm2WithSM3
    let key: EVPKey
    let distinguishingID: [UInt8]

    var verifyingKey: any VerifyingKey {
        SM2VerifyingKey(key: self.key, distinguishingID: self.distinguishingID)
    }

    func signature(for message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        try SM2DigestContext.with(key: self.key, distinguishingID: self.distinguishingID) {
            (context) throws(CryptographyError) -> [UInt8] in
            try OpenSSL.check(EVP_DigestSignInit(context, nil, EVP_sm3(), nil, self.key.pointer), "SM2 sign init")
            var length = 0
            try message.withNonNullPointer { (input, count) throws(CryptographyError) in
                try OpenSSL.check(EVP_DigestSign(context, nil, &length, input, count), "SM2 sign (size)")
            }
            var signature = [UInt8](repeating: 0, count: length)
            try message.withNonNullPointer { (input, count) throws(CryptographyError) in
                try OpenSSL.check(EVP_DigestSign(context, &signature, &length, input, count), "SM2 sign")
            }
            return Array(signature.prefix(length))
        }
    }

    func pemRepresentation() throws(CryptographyError) -> String {
        try self.key.privatePEM()
    }
}

/// An SM2 public key held by OpenSSL.
struct SM2VerifyingKey: VerifyingKey {
    let algorithm = AlgorithmIdentifier.sm2WithSM3
    let key: EVPKey
    let sm2DistinguishingID: [UInt8]

    init(key: EVPKey, distinguishingID: [UInt8]) {
        self.key = key
        self.sm2DistinguishingID = distinguishingID
    }

    var distinguishingID: [UInt8]? { self.sm2DistinguishingID }

    var derRepresentation: [UInt8] { self.key.publicDER() }
    var pemRepresentation: String { self.key.publicPEM() }
    var rawRepresentation: [UInt8] { self.key.encodedPublicPoint() }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard !signature.isEmpty else { return false }
        let valid = try? SM2DigestContext.with(key: self.key, distinguishingID: self.sm2DistinguishingID) {
            (context) throws(CryptographyError) -> Bool in
            try OpenSSL.check(EVP_DigestVerifyInit(context, nil, EVP_sm3(), nil, self.key.pointer), "SM2 verify init")
            return message.withNonNullPointer { input, count in
                EVP_DigestVerify(context, signature, signature.count, input, count) == 1
            }
        }
        ERR_clear_error()
        return valid ?? false
    }
}

/// A digest context whose key context carries the distinguishing ID.
private enum SM2DigestContext {
    static func with<Result>(
        key: EVPKey,
        distinguishingID: [UInt8],
        _ body: (OpaquePointer) throws(CryptographyError) -> Result
    ) throws(CryptographyError) -> Result {
        guard let digestContext = EVP_MD_CTX_new() else { throw OpenSSL.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(digestContext) }
        guard let keyContext = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            throw OpenSSL.failure("EVP_PKEY_CTX_new_from_pkey")
        }
        // The digest context does not take ownership of a key context set this way.
        defer { EVP_PKEY_CTX_free(keyContext) }
        try OpenSSL.check(
            EVP_PKEY_CTX_set1_id(keyContext, distinguishingID, Int32(distinguishingID.count)),
            "SM2 distinguishing ID"
        )
        EVP_MD_CTX_set_pkey_ctx(digestContext, keyContext)
        return try body(digestContext)
    }
}
