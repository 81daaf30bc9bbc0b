public import Foundation
public import HubCrypto

/// A signed tree head: the log's size and root hash at a time, signed by the hub, in the C2SP
/// `tlog-checkpoint` format inside a C2SP `signed-note`, so that witnesses (the regulator) can
/// store, compare and countersign it with ordinary transparency-log tooling.
///
/// ```
/// hub.example.org/audit                      origin (the log's name, also the key name)
/// 1234                                       tree size
/// 3q2+7w…=                                   root hash, base64
/// hash SM3                                   extension line: the tree's hash function
/// time 1796000000123                         extension line: Unix time in milliseconds
///
/// — hub.example.org/audit AAECAw…            key id (4 bytes) ‖ the hub's signature object
/// ```
///
/// The signature is a hub ``SignedObject`` (header naming algorithm and key id, then DER) over
/// the note text; its signature type byte is `0xff` followed by ``signatureTypeName``, as the
/// signed-note specification reserves for types it does not assign. `docs/audit.md` has the
/// exact rules.
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: Int
    public var rootHash: [UInt8]
    public var hashAlgorithm: AlgorithmIdentifier
    /// Millisecond precision.
    public var time: Date

    /// Identifies the hub's signature type in key ids, after the `0xff` byte.
    public static let signatureTypeName = "hub-signed-object-v1"

    public init(origin: String, size: Int, rootHash: [UInt8], hashAlgorithm: AlgorithmIdentifier, time: Date) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.hashAlgorithm = hashAlgorithm
        self.time = Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    var milliseconds: Int64 { Int64((self.time.timeIntervalSince1970 * 1000).rounded()) }

    /// The note text: what is signed.
    public var text: String {
        "\(self.origin)\n\(self.size)\n\(Data(self.rootHash).base64EncodedString())\nhash \(self.hashAlgorithm.name)\ntime \(self.milliseconds)\n"
    }

    /// The signed-note key id of a hub key under this origin:
    /// `SHA-256(origin ‖ 0x0A ‖ 0xFF ‖ "hub-signed-object-v1" ‖ SubjectPublicKeyInfo DER)[0..<4]`.
    public static func noteKeyID(origin: String, key: any VerifyingKey) throws(CryptographyError) -> [UInt8] {
        let input = Array(origin.utf8) + [0x0A, 0xFF] + Array(Self.signatureTypeName.utf8) + key.derRepresentation
        return Array(try SHA256Hash().digest(input).prefix(4))
    }

    /// Parses a checkpoint's note text (without signatures).
    public init(text: String) throws(CheckpointError) {
        guard text.hasSuffix("\n") else { throw CheckpointError("a checkpoint's text ends with a newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, !lines[0].isEmpty else { throw CheckpointError("a checkpoint has an origin, a size and a root hash") }
        guard let size = Int(lines[1]), size >= 0, String(size) == lines[1] else { throw CheckpointError("the tree size is not a decimal number") }
        guard let root = Data(base64Encoded: lines[2]) else { throw CheckpointError("the root hash is not base64") }
        var hash: AlgorithmIdentifier?
        var milliseconds: Int64?
        for line in lines.dropFirst(3) {
            if line.hasPrefix("hash ") { hash = AlgorithmIdentifier(name: String(line.dropFirst(5))) }
            if line.hasPrefix("time ") { milliseconds = Int64(line.dropFirst(5)) }
        }
        guard let hash else { throw CheckpointError("the checkpoint names no known hash function") }
        guard let milliseconds else { throw CheckpointError("the checkpoint has no time") }
        self.init(
            origin: lines[0], size: size, rootHash: Array(root), hashAlgorithm: hash, time: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        guard self.text == text else { throw CheckpointError("the checkpoint text is not in the hub's form") }
    }
}

/// A checkpoint with the hub's signature: a complete signed note.
public struct SignedCheckpoint: Sendable, Equatable {
    public var checkpoint: Checkpoint
    public var signature: SignedObject
    /// The 4-byte signed-note key id.
    public var noteKeyID: [UInt8]

    public init(checkpoint: Checkpoint, signature: SignedObject, noteKeyID: [UInt8]) {
        self.checkpoint = checkpoint
        self.signature = signature
        self.noteKeyID = noteKeyID
    }

    /// The signed note: text, a blank line, one signature line.
    public var note: String {
        let signature = Data(self.noteKeyID + self.signature.serialized).base64EncodedString()
        return self.checkpoint.text + "\n\u{2014} \(self.checkpoint.origin) \(signature)\n"
    }

    /// Parses a signed note; other keys' signature lines (a witness's cosignature) are skipped.
    public init(note: String) throws(CheckpointError) {
        guard let separator = note.range(of: "\n\n") else { throw CheckpointError("a signed note separates text and signatures with a blank line") }
        let text = String(note[..<separator.lowerBound]) + "\n"
        let checkpoint = try Checkpoint(text: text)
        let prefix = "\u{2014} \(checkpoint.origin) "
        for line in note[separator.upperBound...].split(separator: "\n") where line.hasPrefix(prefix) {
            guard let bytes = Data(base64Encoded: String(line.dropFirst(prefix.count))), bytes.count > 4 else { continue }
            guard let signature = try? SignedObject(parsing: Array(bytes.dropFirst(4))) else { continue }
            self.init(checkpoint: checkpoint, signature: signature, noteKeyID: Array(bytes.prefix(4)))
            return
        }
        throw CheckpointError("no signature by \(checkpoint.origin) on the checkpoint")
    }

    /// Checks the signature with one of the hub's published keys (matched by key id).
    public func verify(with keys: [String: any VerifyingKey]) throws(CheckpointError) {
        guard let key = keys[self.signature.header.keyID.value] else {
            throw CheckpointError("the checkpoint is signed with key \(self.signature.header.keyID.value), which is not among the published keys")
        }
        guard (try? Checkpoint.noteKeyID(origin: self.checkpoint.origin, key: key)) == self.noteKeyID else {
            throw CheckpointError("the signature line's key id does not match key \(self.signature.header.keyID.value)")
        }
        guard self.signature.isValid(for: Array(self.checkpoint.text.utf8), key: key) else {
            throw CheckpointError("the checkpoint's signature does not verify")
        }
    }

    /// Signs `checkpoint` with the key store's current signing key for `suite`.
    public static func sign(_ checkpoint: Checkpoint, keyStore: any KeyStore, suite: CryptoSuite) async throws(CryptographyError) -> SignedCheckpoint
    {
        let signature = try await keyStore.sign(Array(checkpoint.text.utf8), suite: suite)
        let published = try await keyStore.verifyingKeys()
        guard let key = published.first(where: { $0.description.id == signature.header.keyID }) else {
            throw CryptographyError(.unknownKey, "the signing key \(signature.header.keyID.value) is not published")
        }
        return SignedCheckpoint(
            checkpoint: checkpoint,
            signature: signature,
            noteKeyID: try Checkpoint.noteKeyID(origin: checkpoint.origin, key: key.verifyingKey)
        )
    }
}

/// A checkpoint that does not parse or verify.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
