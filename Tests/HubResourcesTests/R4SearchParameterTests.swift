import Foundation
import HubCrypto
import HubFHIR
import HubResources
import HubResourcesCore
import HubTestSupport
import Testing

/// The parameters the generated table (`ops/gen/search-parameters`) brought beyond the hand-written
/// ones: contact points and addresses, results' other values, components, ages, durations,
/// `_source` — found by what R4 says, with identifying values blind.
@Suite(.serialized) struct R4SearchParameterTests {
    static let phone = "13957112345"

    @Test func theTableIsR4s() throws {
        // Every type has the common ones; identifying tokens are blind, deny by default.
        for type in ResourceType.allCases {
            let names = Set(type.searchParameters.map(\.name))
            #expect(names.isSuperset(of: ["_tag", "_security", "_profile", "_source"]), "\(type)")
            for parameter in type.searchParameters where ["identifier", "telecom", "phone", "email"].contains(parameter.name) {
                #expect(parameter.isBlind || (type == .organization && parameter.name == "identifier"), "\(type).\(parameter.name)")
            }
            #expect(type.searchParameters.filter { $0.kind == .uri }.allSatisfy { $0.isBlind }, "\(type)")
            #expect(
                type.searchParameters.filter { $0.kind == .string && $0.indexesSubstrings }.allSatisfy {
                    ["name", "family", "given"].contains($0.name)
                })
        }
        #expect(ResourceType.observation.searchParameter(named: "value-string")?.paths == ["valueString", "valueCodeableConcept.text"])
        #expect(ResourceType.patient.searchParameter(named: "phone")?.paths == ["telecom[system=phone]"])
        #expect(ResourceType.observation.searchParameter(named: "subject")?.targets == ["Device", "Group", "Location", "Patient"])
        #expect(ResourceType.patient.r4RefusedSearchParameters["phonetic"] != nil)
        // A parameter R4 defines but the hub refuses is named as such, not as unknown.
        do {
            _ = try SearchQuery(type: .patient, parameters: [("_text", "糖尿病")], lenient: false)
            Issue.record("_text accepted")
        } catch {
            #expect(error.diagnostics.contains("not offered"))
        }
        #expect(throws: ResourceError.self) { try SearchQuery(type: .patient, parameters: [("address:contains", "西湖")], lenient: false) }
    }

    /// Composite parameters pair a code with the value in the same element: a blood pressure's
    /// diastolic code never pairs with its systolic value.
    @Test func findsCompositesWithinOneElement() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            func create(_ members: String) async throws -> String {
                let json = #"{"resourceType":"Observation","status":"final",\#(members)}"#
                return try await store.create(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: .observation, audit: .test).id
            }
            func observation(_ code: String, _ value: String) async throws -> String {
                try await create(#""code":{"coding":[{"system":"http://loinc.org","code":"\#(code)"}]},\#(value)"#)
            }
            func ids(_ name: String, _ value: String) async throws -> Set<String> {
                Set(try await store.search(try SearchQuery(type: .observation, parameters: [(name, value)], lenient: false)).resources.map(\.id))
            }
            let ucum = #""system":"http://unitsofmeasure.org","code":"mmol/L""#
            let high = try await observation("2345-7", #""valueQuantity":{"value":7.8,\#(ucum)}"#)
            let normal = try await observation("2345-7", #""valueQuantity":{"value":5.1,\#(ucum)}"#)
            let pressure = try await observation(
                "85354-9",
                #""component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":142,"code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":91,"code":"mm[Hg]"}}]"#
            )
            let urine = try await observation(
                "5792-7", #""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"167261002"}]}"#)
            let text = try await observation("5778-6", #""valueString":"淡黄色 清亮""#)
            let dated = try await observation("21112-8", #""valueDateTime":"2024-05-01""#)

            #expect(try await ids("code-value-quantity", "http://loinc.org|2345-7$gt7") == [high])
            #expect(try await ids("code-value-quantity", "2345-7$lt7|http://unitsofmeasure.org|mmol/L") == [normal])
            #expect(try await ids("code-value-quantity", "2345-7$7.8,2345-7$5.1") == [high, normal])
            #expect(try await ids("code-value-quantity", "718-7$gt0").isEmpty)
            #expect(try await ids("component-code-value-quantity", "http://loinc.org|8480-6$gt140") == [pressure])
            #expect(try await ids("component-code-value-quantity", "http://loinc.org|8462-4$gt140").isEmpty)
            #expect(try await ids("combo-code-value-quantity", "8462-4$91") == [pressure])
            #expect(try await ids("combo-code-value-quantity", "2345-7$ge5") == [high, normal])
            #expect(try await ids("code-value-concept", "5792-7$http://snomed.info/sct|167261002") == [urine])
            #expect(try await ids("code-value-concept", "5792-7$http://snomed.info/sct|260385009").isEmpty)
            #expect(try await ids("code-value-string", "5778-6$淡黄") == [text])
            #expect(try await ids("code-value-string", "5778-6$清亮").isEmpty)
            #expect(try await ids("code-value-date", "21112-8$ge2024-01-01") == [dated])
            #expect(try await ids("code-value-date", "21112-8$lt2024-05-01").isEmpty)
            // `\$` is a dollar inside a part.
            let escaped = try await observation("LAB$7", #""valueCodeableConcept":{"coding":[{"code":"pos"}]}"#)
            #expect(try await ids("code-value-concept", #"LAB\$7$pos"#) == [escaped])
            // A code repeated, a value repeated: one row, not their product.
            let repeated = try await create(
                #""code":{"coding":[{"system":"http://loinc.org","code":"2345-7"},{"system":"http://loinc.org","code":"2345-7"}]},"valueQuantity":{"value":6,"code":"mmol/L"}"#
            )
            #expect(try await fixture.count("SELECT count(*) FROM search_composite WHERE id = '\(repeated)' AND param = 'code-value-quantity'") == 1)
            // An attacker's Observation pairing 200 codings with 200 values would cost 40,000 rows
            // per composite: refused before anything is built or written.
            let many = (0..<200).map { #"{"code":"c\#($0)"}"# }.joined(separator: ",")
            await #expect(throws: ResourceError.self) {
                _ = try await create(#""code":{"coding":[\#(many)]},"valueCodeableConcept":{"coding":[\#(many)]}"#)
            }
            let categories = (0..<10_001).map { #"{"code":"k\#($0)"}"# }.joined(separator: ",")
            do {
                _ = try await observation("y", #""category":[{"coding":[\#(categories)]}]"#)
                Issue.record("10,001 index rows accepted")
            } catch let error as ResourceError {
                #expect(error.code == .unprocessable && error.diagnostics.contains("at most 10000"), "\(error)")
            }
            #expect(try await fixture.count("SELECT count(*) FROM search_token WHERE code LIKE 'k1000%'") == 0)
            for bad in ["2345-7", "2345-7$", "$gt7", "2345-7$abc"] {
                #expect(throws: ResourceError.self, "\(bad)") {
                    try SearchQuery(type: .observation, parameters: [("code-value-quantity", bad)], lenient: false)
                }
            }
        }
    }

    @Test func findsByWhatTheNewParametersRead() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            func create(_ type: ResourceType, _ json: String) async throws -> String {
                try await store.create(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: type, audit: .test).id
            }
            func ids(_ type: ResourceType, _ parameters: [(String, String)]) async throws -> [String] {
                try await store.search(try SearchQuery(type: type, parameters: parameters, lenient: false)).resources.map(\.id)
            }
            let wang = try await create(
                .patient,
                """
                {"resourceType":"Patient","meta":{"source":"urn:oid:2.16.156.10011.1.5#his-7"},
                 "identifier":[{"system":"urn:health-hub:sid:resident-id","value":"330106198001011235"}],
                 "name":[{"family":"王","given":["秀英"]}],"gender":"female","birthDate":"1980-01-01",
                 "telecom":[{"system":"phone","value":"\(Self.phone)","use":"mobile"},{"system":"email","value":"wxy@example.cn"}],
                 "address":[{"use":"home","line":["文三路90号"],"city":"杭州市","district":"西湖区","postalCode":"310012"}]}
                """)
            let li = try await create(
                .patient,
                """
                {"resourceType":"Patient","name":[{"family":"李","given":["娜"]}],"gender":"female",
                 "telecom":[{"system":"email","value":"\(Self.phone)"}],"address":[{"city":"宁波市"}]}
                """)
            #expect(try await ids(.patient, [("phone", Self.phone)]) == [wang])
            #expect(try await ids(.patient, [("email", Self.phone)]) == [li])
            #expect(Set(try await ids(.patient, [("telecom", Self.phone)])) == [wang, li])
            #expect(try await ids(.patient, [("address", "杭州")]) == [wang])
            #expect(try await ids(.patient, [("address", "文三路")]) == [wang])
            #expect(try await ids(.patient, [("address-city", "宁波市")]) == [li])
            #expect(try await ids(.patient, [("address-postalcode", "3100")]) == [wang])
            #expect(try await ids(.patient, [("address-city:exact", "杭州")]).isEmpty)
            #expect(try await ids(.patient, [("address-use", "home")]) == [wang])
            #expect(try await ids(.patient, [("_source", "urn:oid:2.16.156.10011.1.5#his-7")]) == [wang])
            // :missing, on any kind of parameter.
            #expect(try await ids(.patient, [("phone:missing", "true")]) == [li])
            #expect(try await ids(.patient, [("phone:missing", "false")]) == [wang])
            #expect(try await ids(.patient, [("address-postalcode:missing", "true"), ("family", "李")]) == [li])
            #expect(try await ids(.patient, [("_source:missing", "false")]) == [wang])
            #expect(throws: ResourceError.self) { try SearchQuery(type: .patient, parameters: [("phone:missing", "maybe")], lenient: false) }
            // Contact points and URIs are blind: the number and the source are nowhere in the
            // index as written.
            #expect(try await fixture.count("SELECT count(*) FROM search_token WHERE code LIKE '%\(Self.phone)%'") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM search_token WHERE code LIKE '%his-7%'") == 0)

            let glucose = try await create(
                .observation,
                """
                {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"5792-7"}]},
                 "subject":{"reference":"Patient/\(wang)"},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"167261002"}],"text":"尿糖阴性"}}
                """)
            let pressure = try await create(
                .observation,
                """
                {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
                 "subject":{"reference":"Patient/\(li)"},"dataAbsentReason":{"coding":[{"code":"not-performed"}]},
                 "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":142,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
                              {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":91,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}
                """)
            #expect(try await ids(.observation, [("value-concept", "http://snomed.info/sct|167261002")]) == [glucose])
            #expect(try await ids(.observation, [("value-string", "尿糖")]) == [glucose])
            #expect(try await ids(.observation, [("component-code", "8480-6")]) == [pressure])
            #expect(Set(try await ids(.observation, [("combo-code", "8480-6,5792-7")])) == [glucose, pressure])
            #expect(try await ids(.observation, [("component-value-quantity", "gt140")]) == [pressure])
            #expect(try await ids(.observation, [("combo-value-quantity", "lt100|http://unitsofmeasure.org|mm[Hg]")]) == [pressure])
            #expect(try await ids(.observation, [("data-absent-reason", "not-performed")]) == [pressure])
            #expect(try await ids(.observation, [("component-code:missing", "false")]) == [pressure])
            #expect(try await ids(.observation, [("value-concept:missing", "false"), ("subject:missing", "false")]) == [glucose])
            #expect(try await ids(.observation, [("code-value-concept:missing", "false")]) == [glucose])
            // An id alone, on a parameter that may point at several types: any of them.
            #expect(try await ids(.observation, [("subject", li)]) == [pressure])
            #expect(try await ids(.observation, [("subject:Group", li)]).isEmpty)

            let condition = try await create(
                .condition,
                """
                {"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"E11.9"}]},"subject":{"reference":"Patient/\(wang)"},
                 "onsetAge":{"value":41,"unit":"a","system":"http://unitsofmeasure.org","code":"a"},"severity":{"coding":[{"system":"http://snomed.info/sct","code":"6736007"}]}}
                """)
            #expect(try await ids(.condition, [("onset-age", "ge40|http://unitsofmeasure.org|a")]) == [condition])
            #expect(try await ids(.condition, [("onset-age", "lt40")]).isEmpty)
            #expect(try await ids(.condition, [("severity", "6736007")]) == [condition])
            let encounter = try await create(
                .encounter,
                """
                {"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
                 "subject":{"reference":"Patient/\(wang)"},"length":{"value":5,"unit":"d","system":"http://unitsofmeasure.org","code":"d"},
                 "hospitalization":{"specialArrangement":[{"coding":[{"code":"wheel"}]}]}}
                """)
            #expect(try await ids(.encounter, [("length", "gt4")]) == [encounter])
            #expect(try await ids(.encounter, [("special-arrangement", "wheel")]) == [encounter])
        }
    }

    /// `_sort` by several keys, and by a quantity or a reference: each key in turn (a resource
    /// without a value last, whichever the direction), then id, stable across pages.
    @Test func sortsBySeveralKeysAcrossPages() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            // (status, date, value, patient): some without a date or a value.
            let rows: [(String, String?, Double?, String)] = [
                ("final", "2024-03-01", 5.1, "p2"), ("amended", "2024-01-15", 7.9, "p1"), ("final", nil, 6.0, "p1"),
                ("final", "2024-05-20", nil, "p3"), ("amended", "2024-01-15", 4.2, "p2"), ("preliminary", "2023-12-31", 5.5, "p1"),
                ("final", "2024-03-01", 8.8, "p3"),
            ]
            var created: [(id: String, status: String, date: String?, value: Double?, patient: String, written: Date)] = []
            for (status, date, value, patient) in rows {
                var members = [#""status":"\#(status)""#, #""code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}"#]
                members.append(#""subject":{"reference":"Patient/\#(patient)"}"#)
                if let date { members.append(#""effectiveDateTime":"\#(date)""#) }
                if let value { members.append(#""valueQuantity":{"value":\#(value),"code":"mmol/L"}"#) }
                let json = "{\"resourceType\":\"Observation\"," + members.joined(separator: ",") + "}"
                let stored = try await store.create(
                    try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: .observation, audit: .test)
                created.append((stored.id, status, date, value, patient, stored.lastUpdated))
            }
            func paged(_ sort: String) async throws -> [String] {
                var ids: [String] = []
                var cursor: String?
                var pages = 0
                repeat {
                    var parameters = [("code", "2345-7"), ("_sort", sort), ("_count", "2")]
                    if let cursor { parameters.append(("_cursor", cursor)) }
                    let page = try await store.search(try SearchQuery(type: .observation, parameters: parameters, lenient: false))
                    ids += page.resources.map(\.id)
                    cursor = page.nextCursor
                    pages += 1
                } while cursor != nil && pages < 10
                return ids
            }
            // Missing values last in either direction; ties by id.
            func before<Key: Comparable>(_ a: Key?, _ b: Key?, descending: Bool) -> Bool? {
                switch (a, b) {
                case (let x?, let y?) where x != y: descending ? x > y : x < y
                case (.some, nil): true
                case (nil, .some): false
                default: nil
                }
            }
            let byStatusThenNewest = created.sorted { a, b in
                before(a.status, b.status, descending: false) ?? before(a.date, b.date, descending: true) ?? (a.id < b.id)
            }.map(\.id)
            #expect(try await paged("status,-date") == byStatusThenNewest)
            let bySmallestValue = created.sorted { a, b in before(a.value, b.value, descending: false) ?? (a.id < b.id) }.map(\.id)
            #expect(try await paged("value-quantity") == bySmallestValue)
            let byPatientThenLargest = created.sorted { a, b in
                before(a.patient, b.patient, descending: true) ?? before(a.value, b.value, descending: true) ?? (a.id > b.id)
            }.map(\.id)
            #expect(try await paged("-subject,-value-quantity") == byPatientThenLargest)
            let newestFirst = created.sorted { ($0.written, $1.id) > ($1.written, $0.id) }.map(\.id)
            #expect(try await paged("-_lastUpdated,_id") == newestFirst)
            for bad in ["status,date,code,_id", "identifier", "status,name"] {
                #expect(throws: ResourceError.self, "\(bad)") { try SearchQuery(type: .observation, parameters: [("_sort", bad)], lenient: false) }
            }
            // Forged cursors are refused, never trusted: a wrong shape, an instant no year holds,
            // the smallest Int64 (whose negation traps).
            for (sort, cursor) in [
                ("status,-date", "mk41.n.n:x"), ("_lastUpdated,_id", "mk2d39323233333732303336383534373735383038.n:x"),
                ("_lastUpdated", "-9223372036854775808:x"), ("-date", "k2d39323233333732303336383534373735383038:x"),
                ("_lastUpdated", "999999999999999999:x"),
            ] {
                await #expect(throws: ResourceError.self, "\(sort) \(cursor)") {
                    try await store.search(try SearchQuery(type: .observation, parameters: [("_sort", sort), ("_cursor", cursor)], lenient: false))
                }
            }
        }
    }
}
