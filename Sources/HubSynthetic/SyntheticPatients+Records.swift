import Foundation

extension SyntheticPatients {
    /// An outpatient Encounter of `patient` (a reference: `Patient/…` or `urn:uuid:…`) on `day`
    /// (`YYYY-MM-DD`) at the organization `organization` (a reference, optional).
    public mutating func encounterJSON(patient: String, day: String, organization: String? = nil) -> String {
        let hour = 8 + self.next(9)
        let minute = self.next(60)
        let provider = organization.map { #","serviceProvider":{"reference":"\#($0)"}"# } ?? ""
        return """
            {"resourceType":"Encounter","status":"finished",
             "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB","display":"门诊"},
             "subject":{"reference":"\(patient)"},
             "period":{"start":"\(day)T\(String(format: "%02d:%02d", hour, minute)):00+08:00","end":"\(day)T\(String(format: "%02d:%02d", hour, minute)):00+08:00"}\(provider)}
            """
    }

    /// A final laboratory Observation of `test` for `patient`, taken on `day`, with a value
    /// around the reference interval (about one in five outside it, flagged H or L).
    /// `performer` is the laboratory's organization (a reference), if given.
    public mutating func observationJSON(test: LabTest, patient: String, encounter: String? = nil, day: String, performer: String? = nil) -> String {
        let span = test.high - test.low
        // Mostly inside the interval, sometimes up to 40% of its width beyond either end.
        let position = Double(self.next(1000)) / 1000 * 1.6 - 0.3
        let scale = pow(10, Double(test.decimals))
        let value = ((test.low + span * position) * scale).rounded() / scale
        let text = String(format: "%.\(test.decimals)f", max(value, 0))
        let flag = value < test.low ? "L" : value > test.high ? "H" : "N"
        let encounterReference = encounter.map { #","encounter":{"reference":"\#($0)"}"# } ?? ""
        let performerReference = performer.map { #","performer":[{"reference":"\#($0)"}]"# } ?? ""
        func number(_ x: Double) -> String { String(format: "%.\(test.decimals)f", x) }
        return """
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
             "code":{"coding":[{"system":"http://loinc.org","code":"\(test.loinc)","display":"\(test.display)"}]},
             "subject":{"reference":"\(patient)"}\(encounterReference)\(performerReference),
             "effectiveDateTime":"\(day)T\(String(format: "%02d", 7 + self.next(4))):30:00+08:00",
             "valueQuantity":{"value":\(text),"unit":"\(test.unit)","system":"http://unitsofmeasure.org","code":"\(test.unit)"},
             "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"\(flag)"}]}],
             "referenceRange":[{"low":{"value":\(number(test.low)),"unit":"\(test.unit)","system":"http://unitsofmeasure.org","code":"\(test.unit)"},
                                "high":{"value":\(number(test.high)),"unit":"\(test.unit)","system":"http://unitsofmeasure.org","code":"\(test.unit)"}}]}
            """
    }

    /// Diagnoses common in the region's outpatient clinics (ICD-10, as GB/T 14396 codes them),
    /// with one rare enough to single a patient out.
    public static let diagnoses: [(code: String, display: String)] = [
        ("I10", "原发性高血压"), ("E11.9", "2型糖尿病"), ("J18.9", "肺炎"), ("K29.7", "胃炎"), ("M54.5", "腰痛"), ("N39.0", "泌尿道感染"),
        ("I21.9", "急性心肌梗死"), ("C34.9", "肺恶性肿瘤"),
    ]

    /// A confirmed Condition of `patient`: a diagnosis (`code`, ICD-10) made on `day`.
    public mutating func conditionJSON(patient: String, code: String, display: String, day: String) -> String {
        """
        {"resourceType":"Condition",
         "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
         "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
         "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"\(code)","display":"\(display)"}]},
         "subject":{"reference":"\(patient)"},"onsetDateTime":"\(day)","recordedDate":"\(day)"}
        """
    }

    /// A day in 2024–2026, `YYYY-MM-DD`.
    public mutating func recentDay() -> String {
        String(format: "%04d-%02d-%02d", 2024 + self.next(3), 1 + self.next(12), 1 + self.next(28))
    }
}
