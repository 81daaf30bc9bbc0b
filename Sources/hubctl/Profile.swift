import Foundation

/// A named connection to a hub, kept by `hubctl login`: where the hub is, how to trust it, who
/// logged in and their token. One private file per profile under the config folder
/// (`profiles/<name>.json`), so a clinician can keep, say, `hospital` and `training` apart.
struct Profile: Codable, Equatable {
    var server: String?
    var ca: String?
    var cert: String?
    var key: String?
    var principal: String?
    var token: String?
    var expiresAt: Date?

    /// Profile names are file names: letters, digits, `-` and `_`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static func file(_ name: String, in folder: String) throws -> PrivateFile {
        guard Self.isValidName(name) else {
            throw CLIFailure(message: "profile names are letters, digits, - and _ (not \(name))", exitCode: 2)
        }
        return PrivateFile(path: "\(folder)/profiles/\(name).json")
    }

    /// The profile `name`, or an empty one when it was never saved.
    static func load(_ name: String, in folder: String) throws -> Profile {
        guard let data = try Self.file(name, in: folder).read() else { return Profile() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let profile = try? decoder.decode(Profile.self, from: data) else {
            throw CLIFailure(message: "profile \(name) is damaged: log in again")
        }
        return profile
    }

    func save(_ name: String, in folder: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Self.file(name, in: folder).write(try encoder.encode(self))
    }
}
