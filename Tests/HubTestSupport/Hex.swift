/// Hex for known-answer vectors and the Python peers: two lower-case digits a byte, always.
extension Array where Element == UInt8 {
    public init(hex: String) {
        let digits = Array(hex.lowercased().filter { !$0.isWhitespace }.utf8)
        func value(_ digit: UInt8) -> UInt8 { digit >= 97 ? digit - 87 : digit - 48 }
        self = stride(from: 0, to: digits.count - 1, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }

    public var hex: String {
        self.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
