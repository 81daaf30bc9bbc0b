/// Converts ECDSA/SM2 signatures between DER `SEQUENCE {r, s}` (what the hub stores and
/// publishes) and raw 64-byte `r ‖ s` (what many Chinese SDKs and JOSE use).
public enum SignatureEncoding {
    /// DER → `r ‖ s`, each left-padded to 32 bytes.
    public static func raw(fromDER der: [UInt8]) throws(CryptographyError) -> [UInt8] {
        var index = 0
        func fail() -> CryptographyError { CryptographyError(.invalidEncoding, "not a DER ECDSA signature") }
        func readLength() throws(CryptographyError) -> Int {
            guard index < der.count else { throw fail() }
            let first = der[index]
            index += 1
            if first < 0x80 { return Int(first) }
            guard first == 0x81, index < der.count else { throw fail() }
            defer { index += 1 }
            return Int(der[index])
        }
        func readInteger() throws(CryptographyError) -> [UInt8] {
            guard index < der.count, der[index] == 0x02 else { throw fail() }
            index += 1
            let length = try readLength()
            guard length >= 1, index + length <= der.count else { throw fail() }
            var value = Array(der[index..<(index + length)])
            index += length
            while value.count > 1, value[0] == 0 { value.removeFirst() }
            guard value.count <= 32 else { throw fail() }
            return Array(repeating: 0, count: 32 - value.count) + value
        }
        guard der.first == 0x30 else { throw fail() }
        index = 1
        let total = try readLength()
        guard index + total == der.count else { throw fail() }
        let r = try readInteger()
        let s = try readInteger()
        guard index == der.count else { throw fail() }
        return r + s
    }

    /// `r ‖ s` (64 bytes) → DER.
    public static func der(fromRaw raw: [UInt8]) throws(CryptographyError) -> [UInt8] {
        guard raw.count == 64 else { throw CryptographyError(.invalidEncoding, "a raw signature is 64 bytes") }
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }
}
