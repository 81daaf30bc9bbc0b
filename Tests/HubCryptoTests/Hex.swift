/// Hex helpers for known-answer vectors.
extension Array where Element == UInt8 {
    init(hex: String) {
        let digits = Array(hex.lowercased().filter { !$0.isWhitespace }.utf8)
        func value(_ digit: UInt8) -> UInt8 { digit >= 97 ? digit - 87 : digit - 48 }
        self = stride(from: 0, to: digits.count - 1, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }

    var hex: String {
        self.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
