/// Every algorithm implementation this hub can read with, whatever suite it writes with.
///
/// A hub switched from one suite to another still opens old ciphertexts and checks old
/// signatures because it looks implementations up here by the id in each header.
public struct AlgorithmRegistry: Sendable {
    private var ciphers: [AlgorithmIdentifier: any AuthenticatedCipher] = [:]
    private var signatureSchemes: [AlgorithmIdentifier: any SignatureScheme] = [:]
    private var authenticators: [AlgorithmIdentifier: any MessageAuthenticator] = [:]
    private var hashes: [AlgorithmIdentifier: any HashFunction] = [:]

    public init(suites: [CryptoSuite]) {
        for suite in suites {
            self.ciphers[suite.cipher.algorithm] = suite.cipher
            self.signatureSchemes[suite.signature.algorithm] = suite.signature
            self.authenticators[suite.mac.algorithm] = suite.mac
            self.hashes[suite.hash.algorithm] = suite.hash
        }
    }

    /// Both built-in suites (the SM suite only where the system OpenSSL has SM algorithms),
    /// with `preferred`'s implementations taking precedence (its SM2 distinguishing ID, say).
    public static func standard(preferring preferred: CryptoSuite? = nil) -> AlgorithmRegistry {
        var suites = [CryptoSuite.international()]
        if let sm = try? CryptoSuite.sm() {
            suites.append(sm)
        }
        if let preferred {
            suites.append(preferred)
        }
        return AlgorithmRegistry(suites: suites)
    }

    public func cipher(for algorithm: AlgorithmIdentifier) throws(CryptographyError) -> any AuthenticatedCipher {
        guard let cipher = self.ciphers[algorithm] else {
            throw CryptographyError(.unknownAlgorithm, "no cipher for algorithm \(algorithm)")
        }
        return cipher
    }

    public func signatureScheme(for algorithm: AlgorithmIdentifier) throws(CryptographyError) -> any SignatureScheme {
        guard let scheme = self.signatureSchemes[algorithm] else {
            throw CryptographyError(.unknownAlgorithm, "no signature scheme for algorithm \(algorithm)")
        }
        return scheme
    }

    public func hashFunction(for algorithm: AlgorithmIdentifier) throws(CryptographyError) -> any HashFunction {
        guard let hash = self.hashes[algorithm] else {
            throw CryptographyError(.unknownAlgorithm, "no hash function for algorithm \(algorithm)")
        }
        return hash
    }

    public func authenticator(for algorithm: AlgorithmIdentifier) throws(CryptographyError) -> any MessageAuthenticator {
        guard let authenticator = self.authenticators[algorithm] else {
            throw CryptographyError(.unknownAlgorithm, "no MAC for algorithm \(algorithm)")
        }
        return authenticator
    }
}
