/// A signature in the hub's format: `header ‖ DER signature`.
///
/// The signature covers `header ‖ message`, so it cannot be re-labelled with another algorithm
/// or key id. Verifiers outside the hub (regulators' tools) do the same: strip the header, verify
/// the DER signature over `header ‖ message` with the published key (`/.well-known/hub-keys`).
public struct SignedObject: Sendable, Equatable {
    public let header: ObjectHeader
    /// DER `SEQUENCE {r, s}`.
    public let signature: [UInt8]

    public static func sign(_ message: [UInt8], with key: any SigningKey, keyID: KeyID) throws(CryptographyError) -> SignedObject {
        let header = ObjectHeader(kind: .signature, algorithm: key.algorithm, keyID: keyID)
        return SignedObject(header: header, signature: try key.signature(for: header.serialized + message))
    }

    public init(parsing bytes: [UInt8]) throws(CryptographyError) {
        let (header, offset) = try ObjectHeader.parse(bytes, expecting: .signature)
        guard bytes.count > offset else { throw CryptographyError(.malformed, "signature is empty") }
        self.header = header
        self.signature = Array(bytes[offset...])
    }

    private init(header: ObjectHeader, signature: [UInt8]) {
        self.header = header
        self.signature = signature
    }

    /// True when `key` (which must be of the header's algorithm) signed `message`.
    public func isValid(for message: [UInt8], key: any VerifyingKey) -> Bool {
        guard key.algorithm == self.header.algorithm else { return false }
        return key.isValidSignature(self.signature, for: self.header.serialized + message)
    }

    public var serialized: [UInt8] { self.header.serialized + self.signature }
}
