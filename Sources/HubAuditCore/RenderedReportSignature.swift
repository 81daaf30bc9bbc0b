import Foundation
public import HubCrypto

/// The hub's detached signature over the exact bytes of a report rendered as CSV or HTML, so
/// that every format a regulator can download is verifiable offline, not only the JSON.
///
/// The signed message binds the rendering's media type and a fixed context, so a signature over
/// a CSV can never pass as one over an HTML page, a report body or a checkpoint.
public enum RenderedReportSignature {
    /// The renderings signed this way, by their media type (without parameters).
    public enum Rendering: String, Sendable, CaseIterable {
        case csv = "text/csv"
        case html = "text/html"

        /// The rendering a file name says (`.csv`, `.html`/`.htm`), or nil.
        public init?(fileName: String) {
            switch (fileName as NSString).pathExtension.lowercased() {
            case "csv": self = .csv
            case "html", "htm": self = .html
            default: return nil
            }
        }
    }

    /// The response header that carries the signature (base64 of a signed object).
    public static let headerName = "Hub-Signature"

    /// The scheme: context `health-hub rendered audit report v1`.
    public static let scheme = DetachedSignature(context: "health-hub rendered audit report v1")

    /// What is signed: the scheme's context, the media type, then the bytes.
    public static func message(_ bytes: [UInt8], _ rendering: Rendering) -> [UInt8] {
        Self.scheme.message(bytes, mediaType: rendering.rawValue)
    }

    /// Checks `signature` (base64, as the header carries it or a `.sig` file holds it) over
    /// `bytes` against the hub's published keys.
    public static func verify(
        _ bytes: [UInt8], _ rendering: Rendering, signature: String, keys: [String: any VerifyingKey]
    ) throws(AuditVerificationError) {
        do {
            try Self.scheme.verify(bytes, mediaType: rendering.rawValue, signature: signature, keys: keys)
        } catch {
            throw AuditVerificationError(error.description)
        }
    }
}
