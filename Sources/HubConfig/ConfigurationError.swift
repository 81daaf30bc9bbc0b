/// A setting that is missing, malformed or points at something unusable.
///
/// The description is one line naming the setting, so `hub` can print it and exit
/// instead of showing a stack trace. Values of secret settings are never included.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The setting's dotted name (`tls.private_key`), or the file for syntax errors.
    public var setting: String
    /// What is wrong, in words an operator can act on.
    public var message: String
    /// Where the offending value came from (`hub.toml:12`, `HUB_TLS_CLIENT_AUTH`), when known.
    public var origin: String?

    public init(setting: String, message: String, origin: String? = nil) {
        self.setting = setting
        self.message = message
        self.origin = origin
    }

    public var description: String {
        if let origin {
            return "configuration error: \(self.setting) (\(origin)): \(self.message)"
        }
        return "configuration error: \(self.setting): \(self.message)"
    }
}
