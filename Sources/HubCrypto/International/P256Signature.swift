import Crypto

/// ECDSA over P-256 with SHA-256 (ES256) through swift-crypto. Signatures are DER.
public struct P256Signature: SignatureScheme {
    public let algorithm = AlgorithmIdentifier.ecdsaP256SHA256

    public init() {}

    public func generateSigningKey() throws(CryptographyError) -> any SigningKey {
        P256SigningKey(key: P256.Signing.PrivateKey())
    }

    public func signingKey(pem: String) throws(CryptographyError) -> any SigningKey {
        do {
            return P256SigningKey(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
        } catch {
            throw CryptographyError(.invalidEncoding, "not a PEM P-256 private key")
        }
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
