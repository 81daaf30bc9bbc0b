import HubResourcesCore
import HubSynthetic
import Testing

/// The two halves of string search — the keys a name is stored under and the keys a search looks
/// for — agree, without a database: a search finds a name exactly when the name matches.
@Suite struct SearchKeysTests {
    /// Whether `text` searched with `match` finds `name`, by keys alone (as the store's SQL does).
    func finds(_ text: String, _ match: SearchQuery.StringMatch, in name: String) -> Bool {
        let stored = Set(SearchKeys.indexTexts(of: name))
        return SearchKeys.searchTexts(text, match: match).allSatisfy { group in group.contains(where: stored.contains) }
    }

    @Test func everyPrefixAndSubstringOfSyntheticNamesIsFoundAndNothingElseIs() {
        var people = SyntheticPatients(seed: 17)
        for _ in 0..<200 {
            let person = people.person()
            let name = person.family + person.given
            let characters = Array(name)
            for end in 1...characters.count {
                #expect(self.finds(String(characters[0..<end]), .startsWith, in: name))
            }
            for start in characters.indices {
                for end in (start + SearchKeys.containsMinimum)...max(start + SearchKeys.containsMinimum, characters.count)
                where end <= characters.count {
                    #expect(self.finds(String(characters[start..<end]), .contains, in: name), "\(start)..<\(end)")
                }
            }
            #expect(self.finds(name, .exact, in: name))
            #expect(!self.finds(String(characters.dropLast()), .exact, in: name))
            #expect(!self.finds(name + "明", .startsWith, in: name))
            #expect(
                !self.finds(String(characters.reversed()), .contains, in: name) || Set(characters).count < characters.count || characters.count < 2)
        }
    }

    @Test func matchingIgnoresCaseAccentsAndSpacing() {
        #expect(self.finds("zhang", .startsWith, in: "ZHANG Wei"))
        #expect(self.finds("Jose", .startsWith, in: "José"))
        #expect(self.finds("ng  we", .contains, in: "Zhang Wei"))
        #expect(!self.finds("Wei", .startsWith, in: "Zhang Wei"))
    }

    /// A name longer than the indexed prefix is found by its first characters only, and a long
    /// `:contains` string needs every window of itself in the name.
    @Test func longNamesAndLongSubstrings() {
        let name = String(repeating: "欧阳", count: 20) + "娜"
        #expect(self.finds(String(name.prefix(30)), .startsWith, in: name))
        #expect(self.finds("欧阳欧阳欧阳欧阳娜", .contains, in: name))
        #expect(!self.finds("欧阳欧阳欧阳欧阳欧阳娜娜", .contains, in: name))
    }

    /// R4 `:exact` is case- and accent-sensitive: only the value as written matches (canonically
    /// equivalent spellings are one value), and no name's prefix is another's exact key.
    @Test func exactMatchingIsCaseAndAccentSensitive() {
        #expect(self.finds("Zoë Wang", .exact, in: "Zoë Wang"))
        #expect(self.finds("Zoe\u{308} Wang", .exact, in: "Zoë Wang"))
        #expect(!self.finds("zoë Wang", .exact, in: "Zoë Wang"))
        #expect(!self.finds("Zoe Wang", .exact, in: "Zoë Wang"))
        #expect(!self.finds("Zoë  Wang", .exact, in: "Zoë Wang"))
        #expect(self.finds("张伟", .exact, in: "张伟"))
        #expect(!self.finds("张伟", .exact, in: "=张伟"))
        #expect(!self.finds("伟", .exact, in: "~伟"))
    }

    /// Single characters are never indexed inside a name (docs/security.md, "Blind indexes").
    @Test func noSingleCharacterInfixes() {
        let keys = SearchKeys.indexTexts(of: "司马相如")
        #expect(!keys.contains { $0.hasPrefix(SearchKeys.infixMarker) && $0.count == 2 })
        #expect(keys.contains(SearchKeys.infixMarker + "相如"))
        #expect(SearchKeys.indexTexts(of: "   ").isEmpty)
    }
}
