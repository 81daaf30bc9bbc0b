import Foundation
import HubConfig

/// A crypto profile from `profiles/crypto/NAME.toml`: which algorithms the hub writes with.
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

    /// Reads `directory/name.toml`.
    public static func load(named name: String, directory: String) throws(CryptographyError) -> CryptoProfile {
        let path = directory + "/" + name + ".toml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CryptographyError(.configuration, "no crypto profile \(path)")
        }
        let file: ConfigFile
        do {
            file = try ConfigFile(parsing: text, name: path)
        } catch {
            throw CryptographyError(.configuration, error.description)
        }
        func string(_ key: String) throws(CryptographyError) -> String {
            guard case .string(let value)? = file.entries["suite." + key]?.value else {
                throw CryptographyError(.configuration, "\(path): suite.\(key) must be a string")
            }
            return value
        }
        func algorithm(_ key: String) throws(CryptographyError) -> AlgorithmIdentifier {
            let value = try string(key)
            guard let algorithm = AlgorithmIdentifier(name: value) else {
                throw CryptographyError(.configuration, "\(path): suite.\(key) names unknown algorithm \(value)")
            }
            return algorithm
        }
        let known: Set = ["suite.name", "suite.hash", "suite.mac", "suite.cipher", "suite.signature", "suite.sm2_distinguishing_id"]
        if let unknown = file.entries.keys.sorted().first(where: { !known.contains($0) }) {
            throw CryptographyError(.configuration, "\(path): unknown setting \(unknown)")
        }
        let profile = CryptoProfile(
            name: try string("name"),
            hash: try algorithm("hash"),
            mac: try algorithm("mac"),
            cipher: try algorithm("cipher"),
            signature: try algorithm("signature"),
            sm2DistinguishingID: file.entries["suite.sm2_distinguishing_id"] == nil ? nil : try string("sm2_distinguishing_id")
        )
        guard profile.name == name else {
            throw CryptographyError(.configuration, "\(path): suite.name is \(profile.name), expected \(name)")
        }
        return profile
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
