import Foundation
import HubConfig
public import HubCrypto

extension CryptoProfile {
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
}
