import Foundation
public import HubConfig

/// The identifier systems declared in `profiles/fhir/identifier-systems.toml`.
public struct IdentifierSystems: Sendable, Equatable {
    /// The resident identity card (GB 11643-1999), checked digit by digit.
    public var residentID: String
    public var socialSecurityCard: String
    /// Hospital MRN systems start with this, followed by the organization's code.
    public var mrnPrefix: String

    public init(residentID: String, socialSecurityCard: String, mrnPrefix: String) {
        self.residentID = residentID
        self.socialSecurityCard = socialSecurityCard
        self.mrnPrefix = mrnPrefix
    }

    /// Reads the profile file; a missing or malformed one is a configuration error.
    public static func load(directory: String) throws(ConfigurationError) -> IdentifierSystems {
        let path = directory + "/identifier-systems.toml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(setting: "fhir.profiles_directory", message: "cannot read \(path)")
        }
        let file = try ConfigFile(parsing: text, name: path)
        func string(_ key: String) throws(ConfigurationError) -> String {
            guard case .string(let value)? = file.entries[key]?.value, !value.isEmpty else {
                throw ConfigurationError(setting: key, message: "required in \(path)")
            }
            return value
        }
        return IdentifierSystems(
            residentID: try string("resident_id.system"),
            socialSecurityCard: try string("social_security_card.system"),
            mrnPrefix: try string("mrn.system_prefix")
        )
    }

    /// Whether `system` is one the hub knows.
    public func isKnown(_ system: String) -> Bool {
        system == self.residentID || system == self.socialSecurityCard
            || (system.hasPrefix(self.mrnPrefix) && system.count > self.mrnPrefix.count)
    }
}
