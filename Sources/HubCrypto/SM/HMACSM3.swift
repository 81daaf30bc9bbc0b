import COpenSSL

/// HMAC-SM3 (GB/T 15852.2 with SM3) through the system OpenSSL.
public struct HMACSM3: MessageAuthenticator {
    public let algorithm = AlgorithmIdentifier.hmacSM3
    public let outputByteCount = 32

    public init() {}

    public func authenticationCode(for message: [UInt8], key: SecretKey) throws(CryptographyError) -> [UInt8] {
        guard !key.bytes.isEmpty else {
            throw CryptographyError(.invalidKey, "HMAC-SM3 needs a non-empty key")
        }
        var output = [UInt8](repeating: 0, count: 32)
        var length = 0
        let result = key.bytes.withNonNullPointer { keyPointer, keyCount in
            message.withNonNullPointer { input, inputCount in
                EVP_Q_mac(nil, "HMAC", nil, "SM3", nil, keyPointer, keyCount, input, inputCount, &output, output.count, &length)
            }
        }
        guard result != nil, length == 32 else { throw OpenSSL.failure("HMAC-SM3") }
        return output
    }
}
