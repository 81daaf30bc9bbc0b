/// A laboratory test as hospitals in the region report it: LOINC code, UCUM unit and the adult
/// reference interval used for the interpretation flag.
public struct LabTest: Sendable {
    public var loinc: String
    public var display: String
    public var unit: String
    public var low: Double
    public var high: Double
    /// Digits after the decimal point the analyser reports.
    public var decimals: Int

    /// Common chemistry and haematology tests (reference intervals per WS/T 404 and WS/T 405).
    public static let common: [LabTest] = [
        LabTest(loinc: "2345-7", display: "葡萄糖", unit: "mmol/L", low: 3.9, high: 6.1, decimals: 1),
        LabTest(loinc: "4548-4", display: "糖化血红蛋白", unit: "%", low: 4.0, high: 6.0, decimals: 1),
        LabTest(loinc: "718-7", display: "血红蛋白", unit: "g/L", low: 115, high: 175, decimals: 0),
        LabTest(loinc: "6690-2", display: "白细胞计数", unit: "10*9/L", low: 3.5, high: 9.5, decimals: 2),
        LabTest(loinc: "777-3", display: "血小板计数", unit: "10*9/L", low: 125, high: 350, decimals: 0),
        LabTest(loinc: "2160-0", display: "肌酐", unit: "umol/L", low: 41, high: 111, decimals: 0),
        LabTest(loinc: "1742-6", display: "丙氨酸氨基转移酶", unit: "U/L", low: 7, high: 50, decimals: 0),
        LabTest(loinc: "2093-3", display: "总胆固醇", unit: "mmol/L", low: 2.8, high: 5.2, decimals: 2),
        LabTest(loinc: "2823-3", display: "钾", unit: "mmol/L", low: 3.5, high: 5.3, decimals: 2),
        LabTest(loinc: "2951-2", display: "钠", unit: "mmol/L", low: 137, high: 147, decimals: 0),
    ]
}
