/// The chapters of ICD-10 (WHO 2019; GB/T 14396 follows them): a diagnosis as an open dataset
/// shows it — specific enough for public health, too coarse to single out a rare disease.
public enum ICD10Chapter {
    /// (chapter, first code, last code), in order.
    static let chapters: [(String, String, String)] = [
        ("I", "A00", "B99"), ("II", "C00", "D48"), ("III", "D50", "D89"), ("IV", "E00", "E90"), ("V", "F00", "F99"),
        ("VI", "G00", "G99"), ("VII", "H00", "H59"), ("VIII", "H60", "H95"), ("IX", "I00", "I99"), ("X", "J00", "J99"),
        ("XI", "K00", "K93"), ("XII", "L00", "L99"), ("XIII", "M00", "M99"), ("XIV", "N00", "N99"), ("XV", "O00", "O99"),
        ("XVI", "P00", "P96"), ("XVII", "Q00", "Q99"), ("XVIII", "R00", "R99"), ("XIX", "S00", "T98"), ("XX", "V01", "Y98"),
        ("XXI", "Z00", "Z99"), ("XXII", "U00", "U85"),
    ]

    /// The chapter of an ICD-10 code (`I21.0`, `i21`, `E11.900`) as `IX I00-I99`, or nil when it is
    /// not a code of any chapter.
    public static func chapter(of code: String) -> String? {
        let letters = Array(code.uppercased().utf8)
        guard letters.count >= 3, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(letters[0]),
            letters[1...2].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        let category = String(decoding: letters[0...2], as: UTF8.self)
        guard let found = Self.chapters.first(where: { $0.1 <= category && category <= $0.2 }) else { return nil }
        return "\(found.0) \(found.1)-\(found.2)"
    }
}
