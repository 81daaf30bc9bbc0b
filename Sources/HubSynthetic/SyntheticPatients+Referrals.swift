extension SyntheticPatients {
    /// A referral as a transaction Bundle: a ServiceRequest (intent `order`, category referral,
    /// urgent, a reason, supporting information) from `from` to `to` (`Organization/…`), and the
    /// Task that tracks it, `requested`.
    public static func referralBundle(patient: String, supporting: String, from: String, to: String) -> String {
        #"""
        {"resourceType":"Bundle","type":"transaction","entry":[
         {"fullUrl":"urn:uuid:7a0c7a57-0000-4000-8000-000000000001","request":{"method":"POST","url":"ServiceRequest"},
          "resource":{"resourceType":"ServiceRequest","status":"active","intent":"order",
           "category":[{"coding":[{"system":"http://snomed.info/sct","code":"3457005","display":"Patient referral"}]}],
           "subject":{"reference":"Patient/\#(patient)"},"requester":{"reference":"\#(from)"},"performer":[{"reference":"\#(to)"}],
           "authoredOn":"2026-11-29T10:00:00+08:00",
           "priority":"urgent","reasonCode":[{"text":"胸痛待查，转上级医院进一步诊治"}],
           "supportingInfo":[{"reference":"Observation/\#(supporting)"}]}},
         {"request":{"method":"POST","url":"Task"},
          "resource":{"resourceType":"Task","status":"requested","intent":"order","authoredOn":"2026-11-29T10:00:00+08:00",
           "basedOn":[{"reference":"urn:uuid:7a0c7a57-0000-4000-8000-000000000001"}],
           "for":{"reference":"Patient/\#(patient)"},"requester":{"reference":"\#(from)"},"owner":{"reference":"\#(to)"}}}]}
        """#
    }
}
