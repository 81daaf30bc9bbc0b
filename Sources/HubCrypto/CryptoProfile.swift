import Foundation

/// A crypto profile: which algorithms the hub writes with (read from `profiles/crypto/NAME.toml`
/// by `CryptoProfile.load(named:directory:)` in HubKeys: the crypto module reads no files of the hub's).
///
/// The file names each algorithm; the names must form one of the suites this hub implements
/// (the profile chooses, it does not invent combinations the hub has not tested).
public struct CryptoProfile: Sendable, Equatable {
    public var name: String
    public var hash: AlgorithmIdentifier
    public var mac: AlgorithmIdentifier
    public var cipher: AlgorithmIdentifier
    public var signature: AlgorithmIdentifier
    public var sm2DistinguishingID: String?

    public init(
        name: String, hash: AlgorithmIdentifier, mac: AlgorithmIdentifier, cipher: AlgorithmIdentifier, signature: AlgorithmIdentifier,
        sm2DistinguishingID: String? = nil
    ) {
        self.name = name
        self.hash = hash
        self.mac = mac
        self.cipher = cipher
        self.signature = signature
        self.sm2DistinguishingID = sm2DistinguishingID
    }

    /// The suite this profile describes.
    public func makeSuite() throws(CryptographyError) -> CryptoSuite {
        switch (self.hash, self.mac, self.cipher, self.signature) {
        case (.sm3, .hmacSM3, .sm4GCM, .sm2WithSM3):
            let id = Array((self.sm2DistinguishingID ?? "1234567812345678").utf8)
            return CryptoSuite(name: self.name, hash: try SM3(), mac: HMACSM3(), cipher: try SM4GCM(), signature: SM2Signature(distinguishingID: id))
        case (.sha256, .hmacSHA256, .aes256GCM, .ecdsaP256SHA256):
            return CryptoSuite(name: self.name, hash: SHA256Hash(), mac: HMACSHA256(), cipher: AES256GCM(), signature: P256Signature())
        default:
            throw CryptographyError(
                .configuration,
                "profile \(self.name) combines \(self.hash), \(self.mac), \(self.cipher), \(self.signature): not a suite this hub implements (SM3/HMAC-SM3/SM4-GCM/SM2-SM3 or SHA-256/HMAC-SHA256/AES-256-GCM/ES256)"
            )
        }
    }
}
