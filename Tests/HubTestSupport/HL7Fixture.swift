import Foundation

/// HL7 v2 messages as a hospital laboratory system sends them.
public enum HL7Fixture {
    /// The content type of an ER7-encoded message over HTTP.
    public static let er7 = [("Content-Type", "x-application/hl7-v2+er7")]

    /// An ORU^R01 for the patient with `residentID`: a metabolic panel with glucose and
    /// potassium (`value`), taken yesterday (recent enough to be recognised).
    public static func oru(residentID: String, value: String = "5.6", control: String = "MSG1") -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMddHHmmZ"
        let taken = formatter.string(from: Date().addingTimeInterval(-86_400))
        return Array(
            [
                "MSH|^~\\&|LIS|TEST-LAB|HUB|CITY|202611280845||ORU^R01^ORU_R01|\(control)|P|2.5",
                "PID|1||\(residentID)^^^^NNCHN||张^伟",
                "OBR|1|ORD-1|FIL-9|24323-8^Comprehensive metabolic 2000 panel^LN|||202611280830|||||||||||||||202611281030|||F",
                "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||5.6|mmol/L^^UCUM|3.9-6.1|N|||F|||\(taken)",
                "OBX|2|NM|2823-3^Potassium [Moles/volume] in Serum or Plasma^LN||\(value)|mmol/L^^UCUM|3.5-5.3|H|||F|||\(taken)",
            ].joined(separator: "\r").utf8) + [13]
    }

    /// An acknowledgement's MSA-1 code (AA, AE, AR) and its whole text.
    public static func acknowledgement(_ text: String) -> (code: String, text: String) {
        let msa = text.split(separator: "\r").first { $0.hasPrefix("MSA|") }.map { $0.split(separator: "|", omittingEmptySubsequences: false) } ?? []
        return (msa.count > 1 ? String(msa[1]) : "", text)
    }
}
