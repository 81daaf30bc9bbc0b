/// A cryptographic operation that failed, typed by what went wrong.
///
/// Messages name algorithms, key ids and sizes — never key material or plaintext.
public struct CryptographyError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Authentication failed: wrong key, or the ciphertext, tag, header or context changed.
        public static let authenticationFailed = Code("authenticationFailed")
        /// The bytes are not in the expected format (truncated, bad version, bad lengths).
        public static let malformed = Code("malformed")
        /// The header names an algorithm this hub does not implement.
        public static let unknownAlgorithm = Code("unknownAlgorithm")
        /// The header names a key the key store does not have (or no longer has: crypto-erased).
        public static let unknownKey = Code("unknownKey")
        /// The data key was destroyed on purpose (crypto-erasure): what it sealed is gone for good.
        public static let erased = Code("erased")
        /// A key is the wrong size or type for the algorithm.
        public static let invalidKey = Code("invalidKey")
        /// PEM or DER that cannot be read as a key of the expected kind.
        public static let invalidEncoding = Code("invalidEncoding")
        /// The underlying library failed (reported with its error string).
        public static let library = Code("library")
        /// The profile or key store is not set up as required.
        public static let configuration = Code("configuration")

        public var description: String { self.name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
