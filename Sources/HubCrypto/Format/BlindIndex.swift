import Foundation

/// A keyed, deterministic fingerprint of a normalised value, for exact-match search over data
/// stored only encrypted (identifiers, names).
///
/// `header ‖ MAC(key, header ‖ normalised value)`: equal inputs give equal bytes under one key,
/// the header says which key and algorithm made it (a suite change means recomputing indexes),
/// and without the key nothing about the value can be learned beyond equality. The key is its
/// own, never a data key, so indexes survive the crypto-erasure of a patient's data key
/// only as unlinkable tokens.
public enum BlindIndex {
    /// How a value is made canonical before it is MACed.
    public enum Normalization: Sendable {
        /// Identifiers (ID card, MRN): white space and hyphens removed, upper-cased, NFKC
        /// (full-width digits become ASCII).
        case identifier
        /// Names: NFKC, case-folded, runs of white space collapsed to one space, trimmed.
        case name
        /// Exactly as given.
        case exact
    }

    public static func normalize(_ value: String, _ normalization: Normalization) -> String {
        switch normalization {
        case .exact:
            return value
        case .identifier:
            let compatible = value.precomposedStringWithCompatibilityMapping
            return String(compatible.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) && $0 != "-" })
                .uppercased()
        case .name:
            let compatible = value.precomposedStringWithCompatibilityMapping.lowercased()
            return compatible.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        }
    }

    /// The index bytes of `value` in `domain` under `key` (named `keyID`).
    ///
    /// The domain — the search parameter the value is indexed for (`Patient.family`) — is
    /// MACed first, length-prefixed: every parameter has, in effect, its own key, so the same
    /// character or number indexed for two parameters gives unrelated bytes and a database
    /// reader cannot pool their frequencies (docs/security.md, "Blind indexes"). Bytes MACed:
    /// header ‖ uint16 big-endian length of the domain ‖ domain (UTF-8) ‖ normalised value.
    public static func compute(
        _ value: String,
        normalization: Normalization,
        domain: String,
        authenticator: any MessageAuthenticator,
        key: SecretKey,
        keyID: KeyID
    ) throws(CryptographyError) -> [UInt8] {
        let header = ObjectHeader(kind: .blindIndex, algorithm: authenticator.algorithm, keyID: keyID).serialized
        let domainBytes = Array(domain.utf8.prefix(Int(UInt16.max)))
        let prefix = header + [UInt8(domainBytes.count >> 8), UInt8(domainBytes.count & 0xFF)] + domainBytes
        let normalized = Array(Self.normalize(value, normalization).utf8)
        return header + (try authenticator.authenticationCode(for: prefix + normalized, key: key))
    }
}
