/// A signature algorithm (SM2 with SM3, ECDSA P-256 with SHA-256): key generation and import.
public protocol SignatureScheme: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    func generateSigningKey() throws(CryptographyError) -> any SigningKey
    /// A private key from PEM (PKCS#8 `PRIVATE KEY`, or the SEC1 `EC PRIVATE KEY` form).
    func signingKey(pem: String) throws(CryptographyError) -> any SigningKey
    /// A public key from DER SubjectPublicKeyInfo.
    func verifyingKey(der: [UInt8]) throws(CryptographyError) -> any VerifyingKey
    /// A public key from PEM (`PUBLIC KEY`).
    func verifyingKey(pem: String) throws(CryptographyError) -> any VerifyingKey
    /// A public key from its uncompressed point `04 ‖ X ‖ Y`: 65 bytes, each coordinate
    /// zero-padded to 32 (what ``VerifyingKey/rawRepresentation`` gives and many SDKs take).
    func verifyingKey(rawPoint: [UInt8]) throws(CryptographyError) -> any VerifyingKey
}

/// A private signing key. Signatures are DER `SEQUENCE {r, s}`.
public protocol SigningKey: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    var verifyingKey: any VerifyingKey { get }
    func signature(for message: [UInt8]) throws(CryptographyError) -> [UInt8]
    /// PKCS#8 PEM; for the file key store only (a hardware store never exports).
    func pemRepresentation() throws(CryptographyError) -> String
}

/// A public key that checks signatures.
public protocol VerifyingKey: Sendable {
    var algorithm: AlgorithmIdentifier { get }
    /// DER SubjectPublicKeyInfo.
    var derRepresentation: [UInt8] { get }
    /// PEM `PUBLIC KEY`.
    var pemRepresentation: String { get }
    /// The uncompressed point `04 ‖ X ‖ Y` (65 bytes), as many Chinese SDKs want it.
    var rawRepresentation: [UInt8] { get }
    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool
    /// SM2 only: the distinguishing ID that is part of every signature this key checks.
    var distinguishingID: [UInt8]? { get }
}

extension VerifyingKey {
    public var distinguishingID: [UInt8]? { nil }
}
