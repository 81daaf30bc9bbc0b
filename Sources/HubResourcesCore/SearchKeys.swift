import Foundation
import HubCrypto

/// Which keys a name is indexed under and which a search looks for (docs/storage.md): the pure
/// half of string search, so the two sides are written — and tested — together. The store turns
/// each key text into a blind index; none of this knows a database.
///
/// Indexed: every normalised prefix (up to ``maximumPrefixLength`` characters, for FHIR's default
/// starts-with match), ``exactMarker`` + the whole value as written (for `:exact`, which R4 makes
/// case- and accent-sensitive), and ``infixMarker`` + each normalised substring not at the start
/// of ``containsMinimum`` to ``containsWindow`` characters (for `:contains`; substrings at the
/// start are the prefixes). The markers are control characters a FHIR string cannot hold, so no
/// prefix of one name is ever the exact or infix key of another.
public enum SearchKeys {
    /// Names longer than this are matched on their first this-many characters.
    public static let maximumPrefixLength = 24
    /// `:contains` finds substrings through blind indexes of every substring up to this length
    /// (a longer search string must have all its windows of this length in the value).
    public static let containsWindow = 6
    /// The shortest `:contains` value, and the shortest substring indexed for it: single
    /// characters are not indexed inside a value, so the index does not hold the set of every
    /// character of every name, a substitution table waiting for frequency analysis
    /// (docs/security.md, "Blind indexes").
    public static let containsMinimum = 2

    /// Starts the key of a whole value (`:exact`).
    public static let exactMarker = "\u{1}"
    /// Starts the key of a substring not at the start (`:contains`).
    public static let infixMarker = "\u{2}"

    /// `:exact` compares the value as written: only canonically equivalent spellings (a
    /// precomposed `ë` and `e` + combining diaeresis, which display the same) are one.
    public static func exactText(_ text: String) -> String {
        Self.exactMarker + text.precomposedStringWithCanonicalMapping
    }

    /// FHIR string matching is case- and accent-insensitive: NFKC, case-folded, accents removed,
    /// white space collapsed.
    public static func normalizeName(_ text: String) -> String {
        BlindIndex.normalize(text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil), .name)
    }

    /// The key texts a string is stored under; none for one that normalises to nothing.
    /// Substrings (for `:contains`) only where the parameter indexes them (names).
    public static func indexTexts(of text: String, substrings: Bool = true) -> [String] {
        let normalized = Self.normalizeName(text)
        guard !normalized.isEmpty else { return [] }
        let characters = Array(normalized)
        var texts: [String] = []
        for length in 1...min(characters.count, Self.maximumPrefixLength) {
            texts.append(String(characters[0..<length]))
        }
        texts.append(Self.exactText(text))
        guard substrings else { return texts }
        var infixes = Set<String>()
        for start in characters.indices.dropFirst() {
            guard characters.count - start >= Self.containsMinimum else { continue }
            for length in Self.containsMinimum...min(characters.count - start, Self.containsWindow) {
                infixes.insert(Self.infixMarker + String(characters[start..<(start + length)]))
            }
        }
        return texts + infixes.sorted()
    }

    /// The groups of keys a search string is found under: a value matches when, for every
    /// group, one of the group's keys is among its own.
    public static func searchTexts(_ text: String, match: SearchQuery.StringMatch) -> [[String]] {
        let normalized = Self.normalizeName(text)
        switch match {
        case .exact:
            return [[Self.exactText(text)]]
        case .startsWith:
            return [[String(Array(normalized).prefix(Self.maximumPrefixLength))]]
        case .contains:
            let characters = Array(normalized)
            let width = min(characters.count, Self.containsWindow)
            let windows = Set((0...(characters.count - width)).map { String(characters[$0..<($0 + width)]) })
            return windows.sorted().map { [$0, Self.infixMarker + $0] }
        }
    }
}
