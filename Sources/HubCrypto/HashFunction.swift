/// A cryptographic hash (SM3, SHA-256).
public protocol HashFunction: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    var digestByteCount: Int { get }
    func digest(_ message: [UInt8]) throws(CryptographyError) -> [UInt8]
}
