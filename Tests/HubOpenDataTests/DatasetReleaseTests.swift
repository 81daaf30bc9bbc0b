import Foundation
import HubCrypto
import HubOpenDataCore
import Testing

@Suite struct DatasetReleaseTests {
    func release() throws -> DatasetRelease {
        let definition = try DatasetDefinition(
            title: "高血压患者, 按区", description: "\"引号\"", classification: .public, subject: .conditions, form: .aggregate,
            dimensions: [.district, .diagnosisChapter]
        ).validated(minimumK: 10)
        var table = AnonymizedTable(dimensions: [.district, .diagnosisChapter], levels: [1, 0])
        table.rows = [["北京市/北京市", "IX I00-I99"], ["=cmd|' /C calc'!A0", "IV E00-E90"]]
        table.counts = [12, nil]
        table.suppressedCells = 1
        return DatasetRelease(
            dataset: "d1", number: 2, definition: definition, table: table, recordsAsOf: Date(timeIntervalSince1970: 1_800_000_000),
            computedAt: Date(timeIntervalSince1970: 1_800_000_100))
    }

    @Test func jsonRoundTripsAndSaysHowItWasProtected() throws {
        let release = try self.release()
        let decoded = try JSONDecoder().decode(DatasetRelease.self, from: Data(release.json()))
        #expect(decoded == release)
        #expect(release.columns == ["district", "diagnosis-chapter", "patients"])
        #expect(release.rows == [["北京市/北京市", "IX I00-I99", "12"], ["=cmd|' /C calc'!A0", "IV E00-E90", nil]])
        #expect(release.protection.generalization == ["district": "city", "diagnosis-chapter": "ICD-10 chapter"])
        #expect(release.protection.k == 10 && release.protection.suppressedCells == 1 && release.protection.suppressedRows == nil)
    }

    @Test func csvQuotesAndDefusesFormulas() throws {
        let text = String(decoding: try self.release().csv(), as: UTF8.self)
        #expect(text == "district,diagnosis-chapter,patients\r\n北京市/北京市,IX I00-I99,12\r\n'=cmd|' /C calc'!A0,IV E00-E90,\r\n")
    }

    @Test func signaturesBindTheBytesAndTheRendering() throws {
        let key = try P256Signature().generateSigningKey()
        let keyID = try KeyID("sig-open-data")
        let release = try self.release()
        let (json, csv) = (release.json(), release.csv())
        func sign(_ bytes: [UInt8], _ mediaType: String) throws -> String {
            Data(try SignedObject.sign(DatasetRelease.signature.message(bytes, mediaType: mediaType), with: key, keyID: keyID).serialized)
                .base64EncodedString()
        }
        let keys: [String: any VerifyingKey] = ["sig-open-data": key.verifyingKey]
        let jsonSignature = try sign(json, "application/json")
        #expect(try DatasetRelease.signature.verify(json, mediaType: "application/json", signature: jsonSignature, keys: keys) == "sig-open-data")
        var altered = json
        altered[altered.count / 2] ^= 1
        #expect(throws: DetachedSignatureError.self) {
            try DatasetRelease.signature.verify(altered, mediaType: "application/json", signature: jsonSignature, keys: keys)
        }
        // A CSV's signature is not a JSON's, and an audit report's scheme is not open data's.
        let csvSignature = try sign(csv, "text/csv")
        #expect(throws: DetachedSignatureError.self) {
            try DatasetRelease.signature.verify(csv, mediaType: "application/json", signature: csvSignature, keys: keys)
        }
        #expect(throws: DetachedSignatureError.self) {
            try DetachedSignature(context: "health-hub rendered audit report v1").verify(
                csv, mediaType: "text/csv", signature: csvSignature, keys: keys)
        }
        #expect(throws: DetachedSignatureError.self) {
            try DatasetRelease.signature.verify(csv, mediaType: "text/csv", signature: csvSignature, keys: [:])
        }
    }
}
