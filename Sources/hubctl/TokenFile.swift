import Foundation

/// The bearer token `hubctl login` keeps: one line, in a file only its owner may read (the
/// folder 0700, the file 0600), like an SSH key.
struct TokenFile {
    let path: String

    /// The token, or nil when there is no file. A file others may read is refused.
    func read() throws -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: self.path) else { return nil }
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard permissions & 0o077 == 0 else {
            throw CLIFailure(message: "\(self.path) may be read by others (chmod 600 it, or log in again)")
        }
        guard let data = FileManager.default.contents(atPath: self.path) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    func write(_ token: String) throws {
        let folder = (self.path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Created empty and private first, so the token is never readable by others.
            guard FileManager.default.createFile(atPath: self.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CLIFailure(message: "cannot write \(self.path)")
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: self.path)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: self.path))
            try handle.write(contentsOf: Data((token + "\n").utf8))
            try handle.close()
        } catch let failure as CLIFailure {
            throw failure
        } catch {
            throw CLIFailure(message: "cannot write \(self.path): \(error.localizedDescription)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
