import Foundation

/// A signature over the exact bytes of a file the hub hands out — a rendered audit report, an
/// open-data release — kept apart from it, so that the file stays exactly as published and anyone
/// can check it offline against the hub's published keys.
///
/// The signed message binds a context naming the kind of file and its media type, so a signature
/// over one kind (or one rendering) can never pass as one over another, a checkpoint or a report
/// body.
public struct DetachedSignature: Sendable, Equatable {
    /// What kind of file this scheme signs, e.g. `health-hub rendered audit report v1`.
    public let context: String

    public init(context: String) {
        self.context = context
    }

    /// What is signed: the context, the media type (without parameters), then the bytes.
    public func message(_ bytes: [UInt8], mediaType: String) -> [UInt8] {
        Array("\(self.context)\n\(mediaType)\n".utf8) + bytes
    }

    /// Checks `signature` (base64 of a signed object, as a `Hub-Signature` header carries it or a
    /// `.sig` file holds it) over `bytes` against the hub's published keys.
    /// - Returns: The id of the key that signed.
    @discardableResult
    public func verify(
        _ bytes: [UInt8], mediaType: String, signature: String, keys: [String: any VerifyingKey]
    ) throws(DetachedSignatureError) -> String {
        let text = signature.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: text), let signed = try? SignedObject(parsing: Array(decoded)) else {
            throw DetachedSignatureError("the signature is not a signed object (base64)")
        }
        guard let key = keys[signed.header.keyID.value] else {
            throw DetachedSignatureError("the file is signed with key \(signed.header.keyID.value), which is not among the published keys")
        }
        guard signed.isValid(for: self.message(bytes, mediaType: mediaType), key: key) else {
            throw DetachedSignatureError("the signature does not verify: the \(mediaType) file was altered or is not the hub's")
        }
        return signed.header.keyID.value
    }
}

/// Why a detached signature did not verify.
public struct DetachedSignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
