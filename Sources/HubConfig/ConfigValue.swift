/// One raw value of a setting, before it is interpreted for that setting.
///
/// Values from the file carry their TOML type; values from the environment are always text and
/// are interpreted by the setting that reads them (so `HUB_SERVER_MAX_BODY_BYTES=1024` works).
public enum ConfigValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    /// Text from an environment variable: its type is decided by the setting.
    case environment(String)
}

/// A value together with where it came from, for error messages.
public struct ConfigEntry: Sendable, Equatable {
    public var value: ConfigValue
    public var origin: String

    public init(value: ConfigValue, origin: String) {
        self.value = value
        self.origin = origin
    }

    func string(_ setting: String) throws(ConfigurationError) -> String {
        switch self.value {
        case .string(let text), .environment(let text):
            return text
        case .integer, .boolean:
            throw ConfigurationError(setting: setting, message: "expected a quoted string", origin: self.origin)
        }
    }

    func integer(_ setting: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let number: Int
        switch self.value {
        case .integer(let value):
            number = value
        case .environment(let text):
            guard let value = Int(text.trimmingSpaces()) else {
                throw ConfigurationError(setting: setting, message: "expected a whole number", origin: self.origin)
            }
            number = value
        case .string, .boolean:
            throw ConfigurationError(setting: setting, message: "expected a whole number", origin: self.origin)
        }
        guard range.contains(number) else {
            throw ConfigurationError(
                setting: setting,
                message: "\(number) is out of range \(range.lowerBound)...\(range.upperBound)",
                origin: self.origin
            )
        }
        return number
    }

    /// Comma-separated networks in CIDR notation.
    func networks(_ setting: String) throws(ConfigurationError) -> [IPNetwork] {
        var networks: [IPNetwork] = []
        for part in try self.string(setting).split(separator: ",") {
            let cidr = String(part).trimmingSpaces()
            guard let network = IPNetwork(cidr) else {
                throw ConfigurationError(
                    setting: setting, message: "\(cidr) is not a network in CIDR notation (127.0.0.0/8, ::1/128)", origin: self.origin)
            }
            networks.append(network)
        }
        return networks
    }

    func boolean(_ setting: String) throws(ConfigurationError) -> Bool {
        switch self.value {
        case .boolean(let value):
            return value
        case .environment(let text):
            switch text.trimmingSpaces().lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: break
            }
        case .string, .integer:
            break
        }
        throw ConfigurationError(setting: setting, message: "expected true or false", origin: self.origin)
    }

    func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: String,
        as _: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
        let text = try self.string(setting)
        guard let choice = Choice(rawValue: text.trimmingSpaces().lowercased()) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(setting: setting, message: "must be one of: \(allowed)", origin: self.origin)
        }
        return choice
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
