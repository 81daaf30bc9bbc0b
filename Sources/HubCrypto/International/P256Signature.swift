import Crypto
import Foundation

/// ECDSA over P-256 with SHA-256 (ES256) through swift-crypto. Signatures are DER.
public struct P256Signature: SignatureScheme {
    public let algorithm = AlgorithmIdentifier.ecdsaP256SHA256

    public init() {}

    public func generateSigningKey() throws(CryptographyError) -> any SigningKey {
        P256SigningKey(key: P256.Signing.PrivateKey())
    }

    public func signingKey(pem: String) throws(CryptographyError) -> any SigningKey {
        // swift-crypto reads the scalar without checking the curve: an SM2 key (same structure,
        // other curve) would load silently as a P-256 key. Require the P-256 curve OID.
        guard Self.namesP256Curve(pem) else {
            throw CryptographyError(.invalidEncoding, "not a PEM P-256 private key (curve is not prime256v1)")
        }
        do {
            return P256SigningKey(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
        } catch {
            throw CryptographyError(.invalidEncoding, "not a PEM P-256 private key")
        }
    }

    /// DER of OID 1.2.840.10045.3.1.7 (prime256v1).
    static let p256CurveOID: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]

    static func namesP256Curve(_ pem: String) -> Bool {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body) else { return false }
        let bytes = [UInt8](der)
        let oid = Self.p256CurveOID
        guard bytes.count >= oid.count else { return false }
        return (0...(bytes.count - oid.count)).contains { bytes[$0..<($0 + oid.count)].elementsEqual(oid) }
    }

    public func verifyingKey(der: [UInt8]) throws(CryptographyError) -> any VerifyingKey {
        do {
            return P256VerifyingKey(key: try P256.Signing.PublicKey(derRepresentation: der))
        } catch {
            throw CryptographyError(.invalidEncoding, "not a DER P-256 public key")
        }
    }

    public func verifyingKey(pem: String) throws(CryptographyError) -> any VerifyingKey {
        do {
            return P256VerifyingKey(key: try P256.Signing.PublicKey(pemRepresentation: pem))
        } catch {
            throw CryptographyError(.invalidEncoding, "not a PEM P-256 public key")
        }
    }

    public func verifyingKey(rawPoint: [UInt8]) throws(CryptographyError) -> any VerifyingKey {
        guard rawPoint.count == 65, rawPoint.first == 0x04 else {
            throw CryptographyError(.invalidEncoding, "a P-256 point is 65 bytes starting with 04")
        }
        do {
            return P256VerifyingKey(key: try P256.Signing.PublicKey(x963Representation: rawPoint))
        } catch {
            throw CryptographyError(.invalidEncoding, "not a point on P-256")
        }
    }
}

struct P256SigningKey: SigningKey {
    let algorithm = AlgorithmIdentifier.ecdsaP256SHA256
    let key: P256.Signing.PrivateKey

    var verifyingKey: any VerifyingKey { P256VerifyingKey(key: self.key.publicKey) }

    func signature(for message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        do {
            return Array(try self.key.signature(for: message).derRepresentation)
        } catch {
            throw CryptographyError(.library, "ES256 sign failed: \(error)")
        }
    }

    func pemRepresentation() throws(CryptographyError) -> String {
        self.key.pemRepresentation
    }
}

struct P256VerifyingKey: VerifyingKey {
    let algorithm = AlgorithmIdentifier.ecdsaP256SHA256
    let key: P256.Signing.PublicKey

    var derRepresentation: [UInt8] { Array(self.key.derRepresentation) }
    var pemRepresentation: String { self.key.pemRepresentation }
    var rawRepresentation: [UInt8] { Array(self.key.x963Representation) }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return self.key.isValidSignature(parsed, for: message)
    }
}
