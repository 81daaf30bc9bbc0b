import Foundation

/// The resident identity card number of GB 11643-1999: 17 digits and a check character.
///
/// Digits 1–6 are the address code, 7–14 the birth date (YYYYMMDD), 15–17 a sequence number
/// (odd for men), and the 18th is ISO 7064 MOD 11-2 over the first 17: `0–9` or `X`.
public enum ResidentIDNumber {
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Why `number` is not a valid resident ID, or nil when it is.
    public static func problem(with number: String) -> String? {
        let characters = Array(number.uppercased())
        guard characters.count == 18 else { return "a resident ID number has 18 characters" }
        let digits = characters.prefix(17).compactMap { $0.wholeNumberValue }
        guard digits.count == 17, characters.prefix(17).allSatisfy(\.isASCII) else {
            return "the first 17 characters of a resident ID number are digits"
        }
        guard characters[17] == Self.checkCharacter(for: digits) else {
            return "the check digit of the resident ID number is wrong"
        }
        let birth = String(characters[6..<14])
        guard Self.isValidDate(birth) else { return "the resident ID number has no valid birth date" }
        return nil
    }

    /// The check character for 17 digits.
    public static func checkCharacter(for digits: [Int]) -> Character {
        let sum = zip(digits, Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Self.checkCharacters[sum % 11]
    }

    static func isValidDate(_ text: String) -> Bool {
        guard let year = Int(text.prefix(4)), let month = Int(text.dropFirst(4).prefix(2)), let day = Int(text.suffix(2)),
            (1900...2100).contains(year), (1...12).contains(month), day >= 1
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
            let range = calendar.range(of: .day, in: .month, for: date)
        else { return false }
        return range.contains(day)
    }
}
