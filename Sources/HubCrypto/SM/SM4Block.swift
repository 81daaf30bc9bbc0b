import COpenSSL

/// SM4 on single blocks (ECB, no padding) — the block cipher beneath ``SM4GCM``, exposed inside
/// the module so that known-answer tests can check it against GB/T 32907 directly.
struct SM4Block {
    let ecb: FetchedAlgorithm

    init() throws(CryptographyError) {
        guard let ecb = FetchedAlgorithm.cipher("SM4-ECB") else {
            throw CryptographyError(.configuration, "this OpenSSL has no SM4")
        }
        self.ecb = ecb
    }

    /// Encrypts each 16-byte block of `blocks` `rounds` times in a row.
    func encrypt(_ blocks: [UInt8], key: SecretKey, rounds: Int = 1) throws(CryptographyError) -> [UInt8] {
        guard key.byteCount == 16, blocks.count % 16 == 0 else {
            throw CryptographyError(.invalidKey, "SM4 takes a 16-byte key and whole 16-byte blocks")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try OpenSSL.check(EVP_EncryptInit_ex2(context, self.ecb.pointer, key.bytes, nil, nil), "SM4-ECB init")
        _ = EVP_CIPHER_CTX_set_padding(context, 0)
        var current = blocks
        var next = [UInt8](repeating: 0, count: blocks.count)
        var written: Int32 = 0
        for _ in 0..<rounds {
            try OpenSSL.check(EVP_EncryptUpdate(context, &next, &written, current, Int32(current.count)), "SM4-ECB")
            swap(&current, &next)
        }
        return current
    }
}

/// SM4-CTR through the same EVP binding ``SM4GCM`` uses for its bulk, exposed to the benchmarks
/// only, to show what the binding costs against `openssl speed -evp sm4-ctr`.
@_spi(Benchmarks)
public struct SM4CTRBinding: Sendable {
    let ctr: FetchedAlgorithm

    public init() throws(CryptographyError) {
        guard let ctr = FetchedAlgorithm.cipher("SM4-CTR") else {
            throw CryptographyError(.configuration, "this OpenSSL has no SM4")
        }
        self.ctr = ctr
    }

    /// Encrypts `input` into `output` (same length) from counter block `iv`.
    public func encrypt(_ input: [UInt8], into output: inout [UInt8], key: SecretKey, iv: [UInt8]) throws(CryptographyError) {
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try OpenSSL.check(EVP_EncryptInit_ex2(context, self.ctr.pointer, key.bytes, iv, nil), "SM4-CTR init")
        var written: Int32 = 0
        try OpenSSL.check(EVP_EncryptUpdate(context, &output, &written, input, Int32(input.count)), "SM4-CTR")
    }
}
