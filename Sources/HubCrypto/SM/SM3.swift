import COpenSSL

/// SM3 (GB/T 32905-2016) through the system OpenSSL.
public struct SM3: HashFunction {
    public let algorithm = AlgorithmIdentifier.sm3
    public let digestByteCount = 32
    let md: FetchedAlgorithm

    public init() throws(CryptographyError) {
        guard let md = FetchedAlgorithm.digest("SM3") else {
            throw CryptographyError(.configuration, "this OpenSSL (\(OpenSSL.version)) has no SM3")
        }
        self.md = md
    }

    public func digest(_ message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = message.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, self.md.pointer, nil)
        }
        try OpenSSL.check(status, "SM3")
        return output
    }
}
