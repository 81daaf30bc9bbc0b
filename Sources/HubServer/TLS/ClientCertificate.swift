import Crypto
public import NIOSSL

/// What the hub knows of a hospital system from its TLS client certificate.
///
/// The SHA-256 fingerprint of the DER certificate is what registrations bind to (a subject
/// can be re-issued by a CA; a fingerprint names exactly one certificate).
public struct ClientCertificate: Sendable, Equatable, Codable {
    /// The subject as `CN=…, O=…` (RFC 4514 attribute names, in certificate order).
    public var subject: String
    /// The issuer, in the same form.
    public var issuer: String
    /// SHA-256 of the DER encoding, lower-case hex without separators.
    public var fingerprintSHA256: String
    /// The subject's organization (`O=`), if it names one.
    public var organization: String?

    public init(_ certificate: NIOSSLCertificate) throws {
        self.subject = Self.format(certificate.subjectName)
        self.issuer = Self.format(certificate.issuerName)
        self.fingerprintSHA256 = SHA256.hash(data: try certificate.toDERBytes()).hexString
        self.organization = certificate.subjectName.first { $0.type == .organization }?.value
    }

    private static func format(_ names: [SSLCertificateName]) -> String {
        names.map { name in
            let key: String
            switch name.type {
            case .commonName: key = "CN"
            case .organization: key = "O"
            case .organizationalUnit: key = "OU"
            case .country: key = "C"
            case .state: key = "ST"
            case .city: key = "L"
            case .emailAddress: key = "emailAddress"
            case .userId: key = "UID"
            default: key = "OID"
            }
            return "\(key)=\(name.value)"
        }.joined(separator: ", ")
    }
}

extension Sequence<UInt8> {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
