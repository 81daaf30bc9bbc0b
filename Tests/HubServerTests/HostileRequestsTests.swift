import Foundation
import HubClient
import HubConfig
import HubStorage
import HubTestSupport
import PostgresNIO
import Testing

/// Issue #14's hostile-request run: generated malformed and hostile requests — FHIR JSON, search
/// strings, Bundles, JWTs, HL7 v2, CDA documents, path spellings — sent by another hospital,
/// a clinician's token, and nobody, against a running hub holding a hospital's patient.
///
/// Three properties, each able to fail: no answer is a server error (5xx); a refused write
/// changes nothing (the record counts before and after are equal: no partial write); every
/// request that reached the audited APIs left an audit record carrying its request id.
///
/// `ops/test` sends 10,000 (seed fixed: any failure reproduces); `ops/bench/hostile` sends as
/// many as `HUB_HOSTILE_REQUESTS` says with a fresh seed and reports latencies per kind.
///
/// (One file past 400 lines on purpose: the generators of every kind of hostile request sit
/// beside the three properties they are checked against, so a reader sees what is sent.)
@Suite struct HostileRequestsTests {
    /// A seeded generator (``SplitMix64``) with the draws the generators below use.
    struct Dice: RandomNumberGenerator {
        var generator: SplitMix64
        init(state: UInt64) { self.generator = SplitMix64(state: state) }
        mutating func next() -> UInt64 { self.generator.next() }
        mutating func int(_ bound: Int) -> Int { Int(self.next() % UInt64(max(1, bound))) }
        mutating func pick<T>(_ items: [T]) -> T { items[self.int(items.count)] }
        mutating func chance(_ percent: Int) -> Bool { self.int(100) < percent }
    }

    struct Request {
        var kind: String
        var method: String
        var path: String
        var headers: [(String, String)] = []
        var body: [UInt8]?
    }

    static let types = [
        "Patient", "Observation", "Condition", "Encounter", "Consent", "Appointment", "Slot", "Subscription", "DocumentReference", "Provenance",
        "Task", "ServiceRequest", "Composition", "AllergyIntolerance", "Organization", "Foo", "patient", "Bundle", "AuditEvent",
    ]

    /// Strings an attacker tries everywhere: injections, traversals, encodings, other forms of
    /// references, control characters, extremes.
    static let hostileStrings: [String] = [
        "'; DROP TABLE resources; --", "\" OR 1=1 --", "\\", "%", "_", "%25", "%00", "\u{0000}", "\u{202E}gnp.exe", "\u{FEFF}", "../../../etc/passwd",
        "..%2f..%2f", "Patient/../Observation/x", "https://127.0.0.1:1/fhir/Patient/x", "https://localhost./latest/meta-data",
        "urn:uuid:00000000-0000-0000-0000-000000000000",
        "#", "#x", "Patient?identifier=urn:health-hub:sid:resident-id|110105194912310029", "Patient/", "/Patient/x", "Patient/x/_history/-1",
        "javascript:alert(1)",
        "<script>alert(1)</script>", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}", "1e999",
        "-0", "NaN",
        "99999999999999999999999999999", "2026-02-30", "2026-13-01T25:61:61Z", "0000-00-00", "王", "😀", String(repeating: "王", count: 600),
        String(repeating: "A", count: 5_000), String(repeating: ",", count: 300), "a|b|c|d", "|", "^~\\&", "\r\n\r\nX-Injected: 1",
    ]

    /// Valid resources to start from (B's view: its own patient, the victim's ids as targets).
    static func templates(patient: String, victim: String) -> [(String, String)] {
        [
            (
                "Patient",
                #"{"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:mrn:H009","value":"MRN1"}],"name":[{"family":"李","given":["娜"]}],"gender":"female","birthDate":"1980-02-03"}"#
            ),
            (
                "Observation",
                #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/\#(patient)"},"effectiveDateTime":"2026-11-30T08:00:00+08:00","valueQuantity":{"value":5.6,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}"#
            ),
            ("Observation", #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/\#(victim)"}}"#),
            (
                "Condition",
                #"{"resourceType":"Condition","code":{"text":"糖尿病"},"subject":{"reference":"Patient/\#(patient)"},"evidence":[{"detail":[{"reference":"Observation/x"}]}]}"#
            ),
            (
                "Consent",
                #"{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/\#(victim)"},"provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/other-hospital"}}]}}"#
            ),
            (
                "Subscription",
                #"{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"Task?owner=Organization/other-hospital","channel":{"type":"rest-hook","endpoint":"https://127.0.0.1:9/hook","payload":"application/fhir+json"}}"#
            ),
            (
                "Appointment",
                #"{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/x"}],"start":"2026-12-10T09:00:00+08:00","end":"2026-12-10T09:15:00+08:00","participant":[{"actor":{"reference":"Patient/\#(victim)"},"status":"accepted"}]}"#
            ),
            (
                "Provenance",
                #"{"resourceType":"Provenance","target":[{"reference":"Patient/\#(victim)"}],"recorded":"2026-11-02T08:00:00+08:00","agent":[{"who":{"reference":"Organization/other-hospital"}}]}"#
            ),
        ]
    }

    /// A JSON text changed the way a fuzzer would: a value replaced by a hostile one or one of
    /// another type, nesting, truncation, a flipped or inserted byte, invalid UTF-8.
    static func mutated(_ text: String, _ dice: inout Dice) -> [UInt8] {
        var bytes = Array(text.utf8)
        switch dice.int(9) {
        case 0:
            // A string value replaced by a hostile one.
            let quoted = text.components(separatedBy: "\"")
            guard quoted.count > 4 else { break }
            var parts = quoted
            let index = 1 + 2 * dice.int((parts.count - 1) / 2)
            let replacement =
                (try? JSONSerialization.data(withJSONObject: [dice.pick(Self.hostileStrings)])).map {
                    String(decoding: $0, as: UTF8.self).dropFirst(2).dropLast(2)
                } ?? ""
            if index < parts.count { parts[index] = String(replacement) }
            bytes = Array(parts.joined(separator: "\"").utf8)
        case 1:
            // A value of another type.
            let other = dice.pick(["null", "[]", "{}", "0", "-1e400", "true", "[[[[[]]]]]", "\"\"", "{\"reference\":{}}"])
            if let colon = bytes.indices.filter({ bytes[$0] == UInt8(ascii: ":") }).randomElement(using: &dice) {
                let end = bytes[(colon + 1)...].firstIndex { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") } ?? bytes.endIndex
                bytes.replaceSubrange((colon + 1)..<end, with: Array(other.utf8))
            }
        case 2:
            let depth = dice.pick([70, 500, 5_000])
            bytes =
                Array(#"{"resourceType":"Observation","extension":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth)
                + Array(repeating: UInt8(ascii: "]"), count: depth) + [UInt8(ascii: "}")]
        case 3:
            bytes = Array(bytes.prefix(dice.int(bytes.count)))
        case 4:
            if !bytes.isEmpty { bytes[dice.int(bytes.count)] = UInt8(truncatingIfNeeded: dice.next()) }
        case 5:
            bytes.insert(dice.pick([0x00, 0xFF, 0xC0, 0x80, 0xED, 0x22, 0x5C, 0x7B]), at: dice.int(bytes.count + 1))
        case 6:
            // Duplicate members, the second of another kind.
            bytes = Array(text.replacingOccurrences(of: "{\"resourceType\":\"", with: "{\"resourceType\":\"Patient\",\"resourceType\":\"").utf8)
        case 7:
            bytes = Array(
                dice.pick([
                    "", "null", "[]", "{}", "\"Patient\"", "{\"resourceType\":null}", "{\"resourceType\":\"Patient\",\"id\":\"../x\"}", "\u{FEFF}{}",
                ]).utf8)
        default:
            // A resource that says it is another type than the URL, or a contained one.
            bytes = Array(
                text.replacingOccurrences(of: "\"status\":", with: "\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"p\"}],\"status\":").utf8)
        }
        return bytes
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:|/"))) ?? ""
    }

    /// One request of each kind, at random.
    static func request(_ dice: inout Dice, patient: String, victim: String, observation: String) -> Request {
        let templates = Self.templates(patient: patient, victim: victim)
        let json = [("Content-Type", "application/fhir+json")]
        switch dice.int(7) {
        case 0:
            let (type, text) = dice.pick(templates)
            let contentType =
                dice.chance(85)
                ? "application/fhir+json"
                : dice.pick(["application/json", "text/plain", "application/xml", "application/fhir+json; charset=latin1", ""])
            let target = dice.chance(80) ? type : dice.pick(Self.types)
            if dice.chance(70) {
                var headers = [("Content-Type", contentType)]
                if target == "Patient", dice.chance(30) {
                    headers.append(
                        (
                            "If-None-Exist",
                            dice.pick([
                                "identifier=urn:health-hub:sid:resident-id|110105194912310029",
                                "identifier=\(Self.percentEncoded(dice.pick(Self.hostileStrings)))", "", "_id=\(victim)",
                            ])
                        ))
                }
                return Request(kind: "fhir-json", method: "POST", path: "/fhir/\(target)", headers: headers, body: Self.mutated(text, &dice))
            }
            let id = dice.pick([victim, observation, patient, "x", Self.percentEncoded(dice.pick(Self.hostileStrings))])
            return Request(
                kind: "fhir-json", method: dice.pick(["PUT", "PATCH", "DELETE"]), path: "/fhir/\(target)/\(id)",
                headers: [("Content-Type", dice.chance(50) ? contentType : "application/json-patch+json")]
                    + (dice.chance(30) ? [("If-Match", dice.pick(["W/\"1\"", "\"x\"", "W/\"-1\"", "*"]))] : []), body: Self.mutated(text, &dice))
        case 1:
            let type = dice.pick(Self.types)
            let names = [
                "_id", "_lastUpdated", "_count", "_sort", "_include", "_revinclude", "_elements", "_summary", "_total", "_cursor",
                "_has:Observation:patient:code", "patient", "subject", "code", "name", "family", "identifier", "date", "value-quantity", "gender",
                "birthdate", "performer", "subject:Patient.name", "patient.identifier", "subject.subject.name", "based-on:ServiceRequest.code",
                "target", "actor", "status", "foo",
            ]
            let modifiers = ["", "", "", ":exact", ":contains", ":missing", ":not", ":text", ":above", ":Patient", "::", ":", ":iterate"]
            var query: [String] = []
            for _ in 0..<(1 + dice.int(6)) {
                let value: String
                switch dice.int(4) {
                case 0: value = Self.percentEncoded(dice.pick(Self.hostileStrings))
                case 1:
                    value = dice.pick([
                        "Patient/\(victim)", victim, "https://hub.test/fhir/Patient/\(victim)", "Observation/\(observation)", "ge2026-01-01",
                        "gt5.4|http://unitsofmeasure.org|mmol/L", "http://loinc.org|2345-7", "*", "Observation:subject",
                        "Observation:subject:Patient", "-_lastUpdated", "true",
                    ])
                case 2: value = (0..<dice.int(150)).map { _ in "x\(dice.int(10))" }.joined(separator: ",")
                default: value = dice.pick(["%zz", "%", "%%", "a%00b", "=", "&", "", "%E7%8E", "%C0%AF"])
                }
                query.append(dice.pick(names) + dice.pick(modifiers) + (dice.chance(95) ? "=" : "") + value)
            }
            if dice.chance(10) { query.append(contentsOf: Array(repeating: "name=王", count: dice.int(60))) }
            return Request(
                kind: "search", method: dice.chance(90) ? "GET" : "POST",
                path: "/fhir/\(type)" + (dice.chance(10) ? "/_search" : "") + "?" + query.joined(separator: dice.chance(95) ? "&" : "&&"),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
        case 2:
            var entries: [String] = []
            for index in 0..<dice.int(25) {
                let (type, text) = dice.pick(templates)
                let method = dice.pick(["POST", "POST", "PUT", "DELETE", "GET", "PATCH", "FOO"])
                let url =
                    dice.chance(80)
                    ? (method == "POST" ? type : "\(type)/\(dice.pick([victim, observation, patient, "x"]))")
                    : Self.percentEncoded(dice.pick(Self.hostileStrings))
                let fullUrl =
                    dice.chance(20)
                    ? "urn:uuid:00000000-0000-4000-8000-00000000000\(dice.int(3))"
                    : "urn:uuid:\(UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, UInt8(index), UInt8(dice.int(256)))).uuidString.lowercased())"
                var resource = String(decoding: dice.chance(70) ? Array(text.utf8) : Self.mutated(text, &dice), as: UTF8.self)
                if dice.chance(20) {
                    resource = resource.replacingOccurrences(of: "Patient/\(patient)", with: "urn:uuid:00000000-0000-4000-8000-000000000001")
                }
                entries.append(#"{"fullUrl":"\#(fullUrl)","resource":\#(resource),"request":{"method":"\#(method)","url":"\#(url)"}}"#)
            }
            let type = dice.pick(["transaction", "transaction", "batch", "collection", "searchset", "x"])
            var body = Array(#"{"resourceType":"Bundle","type":"\#(type)","entry":[\#(entries.joined(separator: ","))]}"#.utf8)
            if dice.chance(15) { body = Self.mutated(String(decoding: body, as: UTF8.self), &dice) }
            return Request(kind: "bundle", method: "POST", path: "/fhir", headers: json, body: body)
        case 3:
            if dice.chance(40) {
                return Request(
                    kind: "jwt", method: "GET", path: "/fhir/Patient?_count=1",
                    headers: [
                        (
                            "Authorization",
                            dice.pick([
                                "Bearer ", "Bearer x", "Bearer \(String(repeating: "A", count: 4_000))", "Basic dXNlcjpwYXNz",
                                "bearer eyJhbGciOiJub25lIn0.e30.", "Bearer \(Self.percentEncoded(dice.pick(Self.hostileStrings)))",
                            ])
                        )
                    ])
            }
            func segment(_ json: String) -> String {
                Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_")
            }
            let header = dice.pick([
                #"{"alg":"none"}"#, #"{"alg":"ES256","kid":"../../x"}"#, #"{"alg":"SM2SM3","typ":"JWT"}"#, #"{"alg":"HS256"}"#, "[]", "x",
            ])
            let claims = dice.pick([
                #"{"iss":"other-system","sub":"other-system","aud":"https://hub.test/auth/token","exp":9999999999,"jti":"\#(dice.next())"}"#,
                #"{"iss":"\#(dice.pick(Self.hostileStrings).replacingOccurrences(of: "\"", with: ""))","sub":"x","exp":"soon"}"#,
                #"{"iss":"other-system","sub":"other-system","exp":-1}"#, "{}", "null",
            ])
            let assertion = [segment(header), segment(claims), dice.chance(50) ? segment("sig") : ""].joined(separator: dice.chance(90) ? "." : "..")
            let form = dice.pick([
                "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=\(assertion)",
                "grant_type=password&username=admin&password=admin", "client_assertion=\(assertion)",
                "grant_type=client_credentials&client_assertion_type=x&client_assertion=\(String(repeating: "A", count: 20_000))", "%%%", "",
            ])
            return Request(
                kind: "jwt", method: "POST", path: "/auth/token",
                headers: [("Content-Type", dice.chance(90) ? "application/x-www-form-urlencoded" : "application/json")], body: Array(form.utf8))
        case 4:
            var segments = [
                "MSH|^~\\&|LIS|TEST-LAB|HUB|CITY|202611280845||ORU^R01^ORU_R01|F\(dice.next() % 100_000)|P|2.5\(dice.chance(10) ? "||||||GB 18030-2000" : "")",
                "PID|1||\(dice.pick(["110105194912310029", "x", Self.percentEncoded(dice.pick(Self.hostileStrings))]))^^^^NNCHN||张^伟",
                "OBR|1|ORD-1|FIL-9|24323-8^Panel^LN|||202611280830|||||||||||||||202611281030|||F",
                "OBX|1|NM|2345-7^Glucose^LN||\(dice.pick(["5.6", "x", "-1e999", ""]))|mmol/L^^UCUM|3.9-6.1|N|||F|||202612050800+0800",
            ]
            if dice.chance(50) { segments[dice.int(segments.count)] = dice.pick(Self.hostileStrings) }
            if dice.chance(20) { segments.shuffle(using: &dice) }
            var bytes = Array(segments.joined(separator: dice.pick(["\r", "\n", "\r\n", "|"])).utf8)
            if dice.chance(30) { bytes = Self.mutated(String(decoding: bytes, as: UTF8.self), &dice) }
            return Request(
                kind: "hl7v2", method: "POST", path: "/hl7v2",
                headers: [("Content-Type", dice.chance(90) ? "x-application/hl7-v2+er7" : "text/plain")], body: bytes)
        case 5:
            let documents = [
                #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3">&e;</ClinicalDocument>"#,
                #"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><ClinicalDocument xmlns="urn:hl7-org:v3">&d;&d;&d;</ClinicalDocument>"#,
                #"<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole><id root="2.16.156.10011.1.3" extension="110105194912310029"/></patientRole></recordTarget>"#,
                #"<?xml version="1.0" encoding="GB2312"?><ClinicalDocument xmlns="urn:hl7-org:v3"><title>出院小结</title></ClinicalDocument>"#,
                #"<x:ClinicalDocument xmlns:x="urn:other"><x:id root="1" extension="2"/></x:ClinicalDocument>"#,
                String(repeating: "<a>", count: 3_000),
            ]
            var xml = dice.pick(documents)
            if dice.chance(30) { xml = String(decoding: Self.mutated(xml, &dice), as: UTF8.self) }
            let data =
                dice.chance(90)
                ? Data(xml.utf8).base64EncodedString() : dice.pick(["!!!", "====", Self.percentEncoded(dice.pick(Self.hostileStrings))])
            let body =
                #"{"resourceType":"DocumentReference","status":"current","subject":{"reference":"Patient/\#(dice.pick([patient, victim]))"},"content":[{"attachment":{"contentType":"\#(dice.pick(["application/hl7-cda+xml", "text/xml", "application/xml; charset=utf-8", "x+xml"]))","data":"\#(data)"}}]}"#
            return Request(kind: "cda", method: "POST", path: "/fhir/DocumentReference", headers: json, body: Array(body.utf8))
        default:
            let paths = [
                "//fhir/Patient", "/fhir//Patient", "/fhir/./Patient", "/fhir/../fhir/Patient", "/fhir/Patient/%2e%2e", "/fhir/Patient/..%2f..%2f",
                "/FHIR/Patient", "/fhir/Patient/\(String(repeating: "x", count: 3_000))",
                "/fhir/Patient/%00", "/fhir/%50atient", "/fhir/Patient;jsessionid=x", "/fhir/Patient/\(victim)/_history/-1",
                "/fhir/Patient/\(victim)/_history/99999999999999999999", "/fhir/$export",
                "/fhir/Patient/\(victim)/$everything?_count=-1&_cursor=%00", "/auth/../fhir/Patient", "/notifications/../../fhir",
                "/notifications?status=%27", "/whoami/x", "/admin/principals", "/audit/log/segment?start=-1&end=99999999999",
                "/fhir/metadata?_format=xml", "/fhir/Observation/$lastn?patient=\(victim)&max=-5", "/fhir/Patient/\(victim)/$everything",
                "/fhir/Patient/\(victim)/_history/1", "/fhir/\(dice.pick(Self.types))/\(Self.percentEncoded(dice.pick(Self.hostileStrings)))",
                "/hl7v2/x", "/fhir/Observation/\(observation)/$meta", "/.well-known/hub-keys/../../etc", "/fhir/Patient?_format=application/xml",
            ]
            return Request(
                kind: "path", method: dice.pick(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"]),
                path: dice.pick(paths), headers: json, body: dice.chance(30) ? Array("{}".utf8) : nil)
        }
    }

    /// The request's path as the hub decides on it, and whether that is an audited API.
    static func isAudited(_ path: String) -> Bool {
        let path = String(path.prefix { $0 != "?" })
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        let canonical =
            path.hasPrefix("/") && !segments.dropLast().contains { $0.isEmpty || $0 == "." || $0 == ".." }
            && !(segments.last.map { $0 == "." || $0 == ".." } ?? false)
        return canonical
            && ["/fhir", "/audit", "/admin", "/auth", "/hl7v2", "/notifications", "/whoami"].contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// What a refused write must leave as it was.
    static let fingerprint = """
        SELECT (SELECT count(*) FROM resource_versions) || '/' || (SELECT count(*) FROM resources) || '/' || (SELECT coalesce(sum(version), 0) FROM resources)
          || '/' || (SELECT count(*) FROM search_token) || '/' || (SELECT count(*) FROM search_string) || '/' || (SELECT count(*) FROM search_reference)
          || '/' || (SELECT count(*) FROM search_date) || '/' || (SELECT count(*) FROM care_relationships) || '/' || (SELECT count(*) FROM consent_rules)
          || '/' || (SELECT count(*) FROM resource_shares)
        """

    @Test func hostileRequestsGetNoServerErrorNoPartialWriteAndAreAllAudited() async throws {
        let environment = ProcessInfo.processInfo.environment
        let total = Int(environment["HUB_HOSTILE_REQUESTS"] ?? "") ?? 10_000
        let seed = UInt64(environment["HUB_HOSTILE_SEED"] ?? "") ?? 14
        let pki = try TestEnvironment.pki()
        try await withHub({
            $0.tls.clientAuthentication = .optional
            $0.server.publicURL = "https://hub.test"
            $0.database.operationTimeoutSeconds = 30
        }) { hub in
            var people = SyntheticPatients(seed: 1415)
            let owner = try hub.client(presenting: pki)
            let victim = try #require(
                try jsonObject(
                    try await owner.send(
                        "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON().utf8)))["id"]
                    as? String)
            let observation = try #require(
                try jsonObject(
                    try await owner.send(
                        "POST", "/fhir/Observation", headers: [("Content-Type", "application/fhir+json")],
                        body: Array(people.observationJSON(test: LabTest.common[0], patient: "Patient/\(victim)", day: "2026-11-30").utf8)
                    ))["id"] as? String)
            try await owner.shutdown()
            let attacker = try hub.client(presenting: pki.otherHospital, timeout: .seconds(30))
            let patient = try #require(
                try jsonObject(
                    try await attacker.send(
                        "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON().utf8)))["id"]
                    as? String)
            let clinician = try hub.client(timeout: .seconds(30))
            let nobody = try hub.client(timeout: .seconds(30))
            let token = try await hub.token(for: TestHub.Identities.otherClinician)
            let database = try TestDatabase.database(try #require(hub.configuration.database.url))

            struct Outcome: Sendable {
                var serverErrors: [String] = []
                var partialWrites: [String] = []
                var auditedIDs: [(String, String)] = []
                var latencies: [String: [Double]] = [:]
                var sent = 0
                var unsendable = 0
            }
            let outcome = try await database.whileRunning { () async throws -> Outcome in
                var outcome = Outcome()
                var dice = Dice(state: seed)
                func fingerprint() async throws -> String {
                    try await database.withConnection("fingerprint") { connection in
                        for try await value in try await connection.query(
                            PostgresQuery(unsafeSQL: Self.fingerprint), logger: makeTestLogger("test.sql")
                        ).decode(String.self) {
                            return value
                        }
                        return ""
                    }
                }
                var attempts = 0
                while outcome.sent < total, attempts < total * 2 {
                    attempts += 1
                    let request = Self.request(&dice, patient: patient, victim: victim, observation: observation)
                    let who = dice.int(10)
                    let client = who < 7 ? attacker : who < 9 ? clinician : nobody
                    let headers = request.headers + (who >= 7 && who < 9 ? [("Authorization", "Bearer \(token)")] : [])
                    let writes = ["POST", "PUT", "PATCH", "DELETE"].contains(request.method) && request.kind != "jwt"
                    let before = writes ? try await fingerprint() : ""
                    let started = ContinuousClock.now
                    let reply: HubClient.Reply
                    do {
                        reply = try await client.send(request.method, request.path, headers: headers, body: request.body)
                    } catch {
                        // The HTTP client refused to send it (an invalid URL): not a request.
                        outcome.unsendable += 1
                        continue
                    }
                    let elapsed = ContinuousClock.now - started
                    outcome.sent += 1
                    outcome.latencies[request.kind, default: []].append(
                        Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                    let summary = "\(request.kind) \(request.method) \(request.path.prefix(160)) -> \(reply.status)"
                    if reply.status >= 500 { outcome.serverErrors.append("\(summary) \(reply.text.prefix(200))") }
                    if writes, reply.status >= 400 {
                        let after = try await fingerprint()
                        if after != before { outcome.partialWrites.append("\(summary): \(before) -> \(after)") }
                    }
                    // An answered request to an audited API must carry its id (else it counts as
                    // unaudited) — except a method HTTP does not know, which the HTTP parser
                    // refuses (400) before any route or middleware sees it.
                    if Self.isAudited(request.path), request.method != "FOO" {
                        outcome.auditedIDs.append((reply.header("X-Request-Id") ?? "missing", summary))
                    }
                }
                return outcome
            }
            let (serverErrors, partialWrites, auditedIDs, latencies, sent, unsendable) = (
                outcome.serverErrors, outcome.partialWrites, outcome.auditedIDs, outcome.latencies, outcome.sent, outcome.unsendable
            )
            try await attacker.shutdown()
            try await clinician.shutdown()
            try await nobody.shutdown()

            // Every audited request's id is in the trail (queued or integrated).
            let records = try await TestDatabase.strings(
                try #require(hub.configuration.database.url),
                "SELECT convert_from(record, 'UTF8') FROM audit_log UNION ALL SELECT convert_from(record, 'UTF8') FROM audit_queue"
            )
            var recorded = Set<String>()
            for record in records {
                if let object = try? JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any], let id = object["request"] as? String {
                    recorded.insert(id)
                }
            }
            let unaudited = auditedIDs.filter { !recorded.contains($0.0) }

            #expect(sent >= total, "only \(sent) of \(total) sent (\(unsendable) the client would not send)")
            #expect(serverErrors.isEmpty, "\(serverErrors.count) server errors:\n\(serverErrors.prefix(10).joined(separator: "\n"))")
            #expect(
                partialWrites.isEmpty, "\(partialWrites.count) refused writes changed something:\n\(partialWrites.prefix(10).joined(separator: "\n"))"
            )
            #expect(
                unaudited.isEmpty,
                "\(unaudited.count) of \(auditedIDs.count) audited requests left no record:\n\(unaudited.prefix(10).map(\.1).joined(separator: "\n"))"
            )
            #expect(auditedIDs.count >= total / 2)
            // Every kind was exercised.
            #expect(Set(latencies.keys) == ["fhir-json", "search", "bundle", "jwt", "hl7v2", "cda", "path"], "\(latencies.keys.sorted())")

            // The long form's report: medians and 99th percentiles per kind.
            var report: [String: Any] = ["requests": sent, "seed": seed, "unsendable": unsendable]
            for (kind, values) in latencies {
                let sorted = values.sorted()
                report[kind] = [
                    "count": sorted.count, "median_ms": sorted[sorted.count / 2], "p99_ms": sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
                ]
            }
            if let folder = environment["HUB_TEST_ARTIFACTS"] {
                let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: folder + "/hostile-requests.json"))
            }
        }
    }
}
