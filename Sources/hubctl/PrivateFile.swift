import Foundation

/// A file only its owner may read (the folder 0700, the file 0600), like an SSH key: where
/// hubctl keeps profiles, whose tokens are credentials.
struct PrivateFile {
    let path: String

    /// The contents, or nil when there is no file. A file others may read is refused.
    func read() throws -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: self.path) else { return nil }
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard permissions & 0o077 == 0 else {
            throw CLIFailure(message: "\(self.path) may be read by others (chmod 600 it, or log in again)")
        }
        return FileManager.default.contents(atPath: self.path)
    }

    func write(_ contents: Data) throws {
        let folder = (self.path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Created empty and private first, so the contents are never readable by others.
            guard FileManager.default.createFile(atPath: self.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CLIFailure(message: "cannot write \(self.path)")
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: self.path)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: self.path))
            try handle.write(contentsOf: contents)
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
