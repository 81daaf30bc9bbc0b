import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file only its owner may read — key material, a client's tokens — in a folder only its owner
/// may enter, like an SSH key.
///
/// Written so that no reader ever sees it otherwise: the bytes go into a new file opened with
/// mode 0600 from the start (never written first and restricted after), flushed to disk, then
/// renamed over the old one. A file or folder others may read is refused, not used.
public struct OwnerOnlyFile: Sendable, Equatable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Why a private file or folder cannot be used, with its path.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Makes `folder` (mode 0700) if it is missing; refuses one that is not a folder, or that
    /// its group or others may enter.
    public static func ensureFolder(_ folder: String) throws(Failure) {
        var status = stat()
        if stat(folder, &status) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Failure(description: "cannot create the folder \(folder)")
            }
            // mkdir applies the umask; say it again.
            guard chmod(folder, 0o700) == 0 else { throw Failure(description: "cannot restrict the folder \(folder) to its owner") }
            return
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw Failure(description: "\(folder) is not a folder") }
        guard status.st_uid == geteuid() else { throw Failure(description: "the folder \(folder) belongs to another user") }
        guard status.st_mode & 0o077 == 0 else {
            throw Failure(
                description: "the folder \(folder) may be entered by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 700 it")
        }
    }

    /// The contents, or nil when there is no file; refuses a file others may read.
    public func read() throws(Failure) -> [UInt8]? {
        var status = stat()
        guard stat(self.path, &status) == 0 else { return nil }
        guard status.st_uid == geteuid() else { throw Failure(description: "\(self.path) belongs to another user") }
        guard status.st_mode & 0o077 == 0 else {
            throw Failure(description: "\(self.path) may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let data = FileManager.default.contents(atPath: self.path) else { throw Failure(description: "cannot read \(self.path)") }
        return [UInt8](data)
    }

    /// Replaces the file with `bytes`, atomically; its folder must exist and be private.
    public func write(_ bytes: [UInt8]) throws(Failure) {
        let folder = (self.path as NSString).deletingLastPathComponent
        try Self.ensureFolder(folder.isEmpty ? "." : folder)
        let temporary = "\(self.path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot create \(temporary)") }
        var written = 0
        let complete = bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += result
            }
            return true
        }
        // The umask cannot widen 0600, but an inherited ACL could: say it once more.
        let restricted = fchmod(descriptor, 0o600) == 0
        let flushed = fsync(descriptor) == 0
        close(descriptor)
        guard complete, restricted, flushed, rename(temporary, self.path) == 0 else {
            unlink(temporary)
            throw Failure(description: "cannot write \(self.path)")
        }
    }

    /// Removes the file, if there is one.
    public func remove() {
        unlink(self.path)
    }
}
