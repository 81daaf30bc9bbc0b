import Crypto

/// SHA-256 through swift-crypto.
public struct SHA256Hash: HashFunction {
    public let algorithm = AlgorithmIdentifier.sha256
    public let digestByteCount = 32

    public init() {}

    public func digest(_ message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        Array(SHA256.hash(data: message))
    }
}
