import Foundation
import HubCrypto

/// A file only its owner may read (``OwnerOnlyFile``): where hubctl keeps profiles, whose
/// tokens are credentials.
struct PrivateFile {
    let file: OwnerOnlyFile

    init(path: String) {
        self.file = OwnerOnlyFile(path: path)
    }

    var path: String { self.file.path }

    /// The contents, or nil when there is no file. A file others may read is refused.
    func read() throws -> Data? {
        do {
            return try self.file.read().map { Data($0) }
        } catch {
            throw CLIFailure(message: "\(error) (or log in again)")
        }
    }

    func write(_ contents: Data) throws {
        do {
            try self.file.write([UInt8](contents))
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }

    func remove() {
        self.file.remove()
    }
}
