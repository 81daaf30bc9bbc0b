import COpenSSL

/// Small helpers around libcrypto's C API.
enum OpenSSL {
    /// The error queue as one line (and cleared), for `CryptographyError.library` messages.
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no detail" : messages.joined(separator: "; ")
    }

    static func failure(_ operation: String) -> CryptographyError {
        CryptographyError(.library, "\(operation) failed: \(drainErrors())")
    }

    /// Checks an OpenSSL status (1 = success).
    static func check(_ status: Int32, _ operation: String) throws(CryptographyError) {
        guard status == 1 else { throw failure(operation) }
    }

    /// The text a memory BIO holds.
    static func string(from bio: OpaquePointer) -> String {
        var data: UnsafeMutablePointer<CChar>?
        let length = hub_bio_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The runtime library's version, e.g. "OpenSSL 3.0.19 27 Jan 2026".
    static var version: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION))
    }
}

/// A fetched cipher or digest implementation, shared read-only across threads.
///
/// `EVP_CIPHER` and `EVP_MD` objects are immutable once fetched and documented as safe to use
/// from many threads at once, hence `@unchecked Sendable`.
final class FetchedAlgorithm: @unchecked Sendable {
    enum Kind { case cipher, digest }
    let pointer: OpaquePointer
    private let kind: Kind

    private init(pointer: OpaquePointer, kind: Kind) {
        self.pointer = pointer
        self.kind = kind
    }

    static func cipher(_ name: String) -> FetchedAlgorithm? {
        ERR_clear_error()
        guard let pointer = EVP_CIPHER_fetch(nil, name, nil) else {
            ERR_clear_error()
            return nil
        }
        return FetchedAlgorithm(pointer: pointer, kind: .cipher)
    }

    static func digest(_ name: String) -> FetchedAlgorithm? {
        ERR_clear_error()
        guard let pointer = EVP_MD_fetch(nil, name, nil) else {
            ERR_clear_error()
            return nil
        }
        return FetchedAlgorithm(pointer: pointer, kind: .digest)
    }

    deinit {
        switch self.kind {
        case .cipher: EVP_CIPHER_free(self.pointer)
        case .digest: EVP_MD_free(self.pointer)
        }
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with a pointer that is never null, even for an empty array: several
    /// libcrypto functions reject a null pointer although the length is zero.
    func withNonNullPointer<Result, Failure: Error>(
        _ body: (UnsafePointer<UInt8>, Int) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if self.isEmpty {
            let zero: [UInt8] = [0]
            return try zero.withUnsafeBufferPointer { (buffer) throws(Failure) -> Result in try body(buffer.baseAddress!, 0) }
        }
        return try self.withUnsafeBufferPointer { (buffer) throws(Failure) -> Result in try body(buffer.baseAddress!, buffer.count) }
    }
}
