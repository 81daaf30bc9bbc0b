import Foundation
import HubAuditCore
import HubCrypto
import HubFHIR
import HubKeys
import HubTestSupport
import Testing

@testable import HubResources

@Suite struct SearchTests {
    static func object(_ json: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
    }

    /// Runs a search and returns the ids found, in order.
    static func ids(_ store: PostgresResourceStore, _ type: ResourceType, _ parameters: [(String, String)]) async throws -> [String] {
        try await store.search(try SearchQuery(type: type, parameters: parameters, lenient: false)).resources.map(\.id)
    }

    static func patient(_ family: String, _ given: String, _ residentID: String, gender: String, birthDate: String) -> String {
        """
        {"resourceType":"Patient","identifier":[{"system":"urn:health-hub:sid:resident-id","value":"\(residentID)"}],
         "name":[{"family":"\(family)","given":["\(given)"]}],"gender":"\(gender)","birthDate":"\(birthDate)"}
        """
    }

    static func observation(_ patient: String, loinc: String, date: String, status: String = "final") -> String {
        """
        {"resourceType":"Observation","status":"\(status)",
         "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
         "code":{"coding":[{"system":"http://loinc.org","code":"\(loinc)"}]},
         "subject":{"reference":"Patient/\(patient)"},"effectiveDateTime":"\(date)",
         "valueQuantity":{"value":5.4,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}
        """
    }

    /// Three patients named `names` (female 1949-12-31, female 1988-03-07, male 1970) and three
    /// Observations: glucose of the first on 2024-03-05 08:30 (UTC+8), haemoglobin of the first on
    /// 2024-04-01, and an amended glucose of patient `thirdObservationOf` on 2023-12-31 23:00 UTC.
    static func seed(
        _ store: PostgresResourceStore,
        names: [(String, String)],
        thirdObservationOf third: Int
    ) async throws -> (patients: [StoredResource], observations: [StoredResource]) {
        let people = [
            ("11010519491231002X", "female", "1949-12-31"), ("310115198803070019", "female", "1988-03-07"), ("440305197001010011", "male", "1970"),
        ]
        var patients: [StoredResource] = []
        for ((family, given), (residentID, gender, birthDate)) in zip(names, people) {
            patients.append(
                try await store.create(
                    try Self.object(Self.patient(family, given, residentID, gender: gender, birthDate: birthDate)), type: .patient, audit: .test))
        }
        let observations = [
            Self.observation(patients[0].id, loinc: "2345-7", date: "2024-03-05T08:30:00+08:00"),
            Self.observation(patients[0].id, loinc: "718-7", date: "2024-04-01"),
            Self.observation(patients[third].id, loinc: "2345-7", date: "2023-12-31T23:00:00Z", status: "amended"),
        ]
        var stored: [StoredResource] = []
        for observation in observations {
            stored.append(try await store.create(try Self.object(observation), type: .observation, audit: .test))
        }
        return (patients, stored)
    }

    @Test func searchesByEveryKindOfParameter() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let (patients, observations) = try await Self.seed(store, names: [("王", "秀英"), ("李", "娜"), ("Müller", "Jörg")], thirdObservationOf: 1)
            let (wang, li, muller) = (patients[0], patients[1], patients[2])
            let (glucose, hemoglobin, other) = (observations[0], observations[1], observations[2])

            // Identifier: blind-indexed, matched after normalisation.
            #expect(try await Self.ids(store, .patient, [("identifier", "urn:health-hub:sid:resident-id|11010519491231002x")]) == [wang.id])
            #expect(try await Self.ids(store, .patient, [("identifier", "310115198803070019")]) == [li.id])
            #expect(try await Self.ids(store, .patient, [("identifier", "http://other|310115198803070019")]).isEmpty)
            // Strings: starts-with, case- and accent-insensitive, Chinese; :exact.
            #expect(try await Self.ids(store, .patient, [("name", "王")]) == [wang.id])
            #expect(try await Self.ids(store, .patient, [("given", "秀")]) == [wang.id])
            #expect(try await Self.ids(store, .patient, [("family", "mull")]) == [muller.id])
            #expect(try await Self.ids(store, .patient, [("family:exact", "Müller")]) == [muller.id])
            #expect(try await Self.ids(store, .patient, [("family:exact", "Mül")]).isEmpty)
            #expect(try await Self.ids(store, .patient, [("family:exact", "müller")]).isEmpty)
            #expect(try await Self.ids(store, .patient, [("family:exact", "Muller")]).isEmpty)
            #expect(Set(try await Self.ids(store, .patient, [("name", "王,李")])) == [wang.id, li.id])
            // Tokens: code, system|code, system|, :not, OR.
            #expect(try await Self.ids(store, .patient, [("gender", "male")]) == [muller.id])
            #expect(Set(try await Self.ids(store, .observation, [("code", "http://loinc.org|2345-7")])) == [glucose.id, other.id])
            #expect(Set(try await Self.ids(store, .observation, [("code", "http://loinc.org|")])).count == 3)
            #expect(try await Self.ids(store, .observation, [("status:not", "final")]) == [other.id])
            #expect(Set(try await Self.ids(store, .observation, [("code", "718-7,2345-7"), ("patient", wang.id)])) == [glucose.id, hemoglobin.id])
            // References: Type/id, bare id, subject.
            #expect(Set(try await Self.ids(store, .observation, [("patient", "Patient/\(wang.id)")])) == [glucose.id, hemoglobin.id])
            #expect(try await Self.ids(store, .observation, [("subject", "Patient/\(li.id)")]) == [other.id])
            // Dates at their precision (values without a zone are UTC+8).
            #expect(try await Self.ids(store, .observation, [("date", "2024-03")]) == [glucose.id])
            #expect(Set(try await Self.ids(store, .observation, [("date", "ge2024-03-05")])) == [glucose.id, hemoglobin.id])
            // 2023-12-31T23:00Z is 2024-01-01T07:00 in UTC+8, the zone of zone-less search values.
            #expect(try await Self.ids(store, .observation, [("date", "lt2024-01-01")]).isEmpty)
            #expect(try await Self.ids(store, .observation, [("date", "lt2024-01-02")]) == [other.id])
            #expect(try await Self.ids(store, .observation, [("date", "2023-12-31T23:00:00Z")]) == [other.id])
            #expect(try await Self.ids(store, .patient, [("birthdate", "1970-06")]).isEmpty)  // 1970 is not within June
            #expect(try await Self.ids(store, .patient, [("birthdate", "1970")]) == [muller.id])
            #expect(try await Self.ids(store, .patient, [("birthdate", "le1950")]) == [wang.id])
            // _id and AND of parameters.
            #expect(try await Self.ids(store, .patient, [("_id", li.id), ("gender", "female")]) == [li.id])
            #expect(try await Self.ids(store, .patient, [("_id", li.id), ("gender", "male")]).isEmpty)

            // Deleted resources leave the index.
            _ = try await store.delete(.observation, id: other.id, audit: .test)
            #expect(try await Self.ids(store, .observation, [("status", "amended")]).isEmpty)
            // An update re-indexes.
            var changed = try #require(hemoglobin.resource)
            changed["status"] = .string("cancelled")
            _ = try await store.update(changed, type: .observation, id: hemoglobin.id, ifMatch: nil, audit: .test)
            #expect(try await Self.ids(store, .observation, [("status", "cancelled")]) == [hemoglobin.id])
            #expect(try await Self.ids(store, .observation, [("status", "final")]) == [glucose.id])
        }
    }

    @Test func pagesByKeysetStayStableWhileDataChanges() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(CryptoSuite.international()), logger: fixture.logger)
            var created: [String] = []
            for index in 0..<7 {
                created.append(
                    try await store.create(
                        try Self.object(#"{"resourceType":"Organization","name":"医院\#(index)","type":[{"coding":[{"code":"prov"}]}]}"#),
                        type: .organization, audit: .test
                    ).id)
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                var parameters = [("type", "prov"), ("_count", "3"), ("_total", "accurate")]
                if let cursor { parameters.append(("_cursor", cursor)) }
                let page = try await store.search(try SearchQuery(type: .organization, parameters: parameters, lenient: false))
                #expect(page.total == 7 + (pages > 0 ? 1 : 0))
                seen += page.resources.map(\.id)
                cursor = page.nextCursor
                pages += 1
                if pages == 1 {
                    // A new organization while paging: it lands in its key position or not at all,
                    // never shifting what later pages return.
                    created.append(
                        try await store.create(
                            try Self.object(#"{"resourceType":"Organization","name":"新医院","type":[{"coding":[{"code":"prov"}]}]}"#),
                            type: .organization, audit: .test
                        ).id)
                }
            } while cursor != nil
            #expect(Set(seen).count == seen.count)  // no duplicates
            #expect(Set(seen).isSuperset(of: Set(created.prefix(7))))  // nothing skipped
            #expect(seen == seen.sorted())

            let countOnly = try await store.search(try SearchQuery(type: .organization, parameters: [("_summary", "count")], lenient: false))
            #expect(countOnly.total == 8 && countOnly.resources.isEmpty)
        }
    }

    @Test(arguments: [
        [("unknown", "1")], [("code:contains", "x")], [("date", "2024-13")], [("date", "xx2024")], [("subject.identifier", "1")],
        [("patient.shoe", "1")], [("patient:Patient.name.family", "王")], [("patient.name:contains", "娜")],
        [("_sort", "name")], [("_sort", "identifier")], [("_elements", "a b")], [("patient", "Organization/1")],
        [("_count", "-1")], [("_summary", "maybe")], [("gender", "")],
    ])
    func badParametersAreRefused(parameters: [(String, String)]) {
        #expect(throws: ResourceError.self) { try SearchQuery(type: .observation, parameters: parameters, lenient: false) }
    }

    @Test func searchesWithContainsChainsApproximationsAndParameterSorts() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let (patients, observations) = try await Self.seed(
                store, names: [("王", "秀英"), ("欧阳", "娜娜"), ("Smith", "Alexander")], thirdObservationOf: 2)
            let (wang, ouyang, alexander) = (patients[0], patients[1], patients[2])
            let (march, april, december) = (observations[0], observations[1], observations[2])
            var undated = try Self.object(Self.observation(ouyang.id, loinc: "718-7", date: "2024"))
            undated["effectiveDateTime"] = nil
            let none = try await store.create(undated, type: .observation, audit: .test)

            // :contains, anywhere in the name, also past the blind index's window of 6 characters.
            #expect(try await Self.ids(store, .patient, [("name:contains", "秀英")]) == [wang.id])
            #expect(try await Self.ids(store, .patient, [("given:contains", "娜娜")]) == [ouyang.id])
            #expect(try await Self.ids(store, .patient, [("family:contains", "欧阳")]) == [ouyang.id])
            // One character inside a name is not indexed (docs/security.md): refused, not missed.
            #expect(throws: ResourceError.self) { try SearchQuery(type: .patient, parameters: [("family:contains", "阳")], lenient: false) }
            #expect(try await Self.ids(store, .patient, [("name:contains", "LEXANDE")]) == [alexander.id])
            #expect(try await Self.ids(store, .patient, [("name:contains", "lexandr")]).isEmpty)
            #expect(Set(try await Self.ids(store, .patient, [("name:contains", "秀英,mit")])) == [wang.id, alexander.id])
            // Chains, one level.
            #expect(
                Set(try await Self.ids(store, .observation, [("subject:Patient.identifier", "urn:health-hub:sid:resident-id|11010519491231002X")]))
                    == [march.id, april.id])
            #expect(try await Self.ids(store, .observation, [("patient.name", "smi")]) == [december.id])
            #expect(
                try await Self.ids(store, .observation, [("patient.gender", "female"), ("code", "718-7"), ("patient.name:contains", "娜娜")]) == [
                    none.id
                ])
            // Reverse chains (_has), nested, and chains of several links.
            #expect(Set(try await Self.ids(store, .patient, [("_has:Observation:patient:code", "718-7")])) == [wang.id, ouyang.id])
            #expect(try await Self.ids(store, .patient, [("_has:Observation:subject:status", "amended")]) == [alexander.id])
            #expect(try await Self.ids(store, .patient, [("_has:Observation:patient:patient.name:contains", "娜娜")]) == [ouyang.id])
            let report = try await store.create(
                try Self.object(
                    #"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"血常规"},"subject":{"reference":"Patient/\#(wang.id)"},"result":[{"reference":"Observation/\#(april.id)"}]}"#
                ), type: .diagnosticReport, audit: .test)
            #expect(try await Self.ids(store, .patient, [("_has:Observation:patient:_has:DiagnosticReport:result:status", "final")]) == [wang.id])
            #expect(try await Self.ids(store, .observation, [("_has:DiagnosticReport:result:status", "final")]) == [april.id])
            #expect(try await Self.ids(store, .diagnosticReport, [("result.patient.name", "王")]) == [report.id])
            #expect(
                try await Self.ids(
                    store, .diagnosticReport, [("result.subject:Patient.identifier", "urn:health-hub:sid:resident-id|11010519491231002X")]) == [
                        report.id
                    ])
            #expect(try await Self.ids(store, .diagnosticReport, [("result.patient.name", "欧阳")]).isEmpty)
            for bad in ["_has:Observation:code:code", "_has:Shoe:patient:code", "_has:Observation:patient", "_has:Observation:patient:shoe"] {
                #expect(throws: ResourceError.self, "\(bad)") { try SearchQuery(type: .patient, parameters: [(bad, "1")], lenient: false) }
            }
            // Each link is a subquery: at most three.
            let deep = "_has:Provenance:target:_has:Provenance:target:_has:Provenance:target"
            #expect(throws: Never.self) { try SearchQuery(type: .patient, parameters: [(deep + ":agent", "Organization/x")], lenient: false) }
            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .patient, parameters: [(deep + ":_has:Provenance:target:agent", "Organization/x")], lenient: false)
            }
            #expect(throws: Never.self) {
                try SearchQuery(type: .diagnosticReport, parameters: [("result.encounter.patient.name", "王")], lenient: false)
            }
            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .diagnosticReport, parameters: [("result.encounter.patient.organization.name", "王")], lenient: false)
            }
            // sa, eb and ap on dates and quantities.
            #expect(try await Self.ids(store, .observation, [("date", "sa2024-03-05")]) == [april.id])
            #expect(try await Self.ids(store, .observation, [("date", "eb2024-03-05")]) == [december.id])
            #expect(Set(try await Self.ids(store, .observation, [("date", "ap2024-03")])) == [march.id, april.id, december.id])
            #expect(try await Self.ids(store, .observation, [("date", "ap2015")]).isEmpty)
            #expect(try await Self.ids(store, .observation, [("value-quantity", "ap5"), ("patient", alexander.id)]) == [december.id])
            #expect(try await Self.ids(store, .observation, [("value-quantity", "ap4.8")]).isEmpty)
            #expect(try await Self.ids(store, .observation, [("value-quantity", "sa5"), ("patient", alexander.id)]) == [december.id])
            #expect(try await Self.ids(store, .observation, [("value-quantity", "eb5")]).isEmpty)

            // _sort by a date or code parameter, either way, across pages; no value sorts last.
            func all(_ sort: String) async throws -> [String] {
                var ids: [String] = []
                var cursor: String?
                repeat {
                    var parameters = [("_sort", sort), ("_count", "1")]
                    if let cursor { parameters.append(("_cursor", cursor)) }
                    let page = try await store.search(try SearchQuery(type: .observation, parameters: parameters, lenient: false))
                    ids += page.resources.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil && ids.count < 10
                return ids
            }
            #expect(try await all("date") == [december.id, march.id, april.id, none.id])
            #expect(try await all("-date") == [april.id, march.id, december.id, none.id])
            let byCode = try await all("code")
            #expect(byCode.count == 4 && Set(byCode.prefix(2)) == [march.id, december.id])
        }
    }

    /// `identifier`, the business key, is a search parameter of every type R4 gives it: an
    /// Observation's accession number, a DocumentReference's masterIdentifier (a filed CDA's id)
    /// as well as its other identifiers — blind-indexed like a patient's.
    @Test func findsResultsAndDocumentsByTheirIdentifiers() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let (patients, _) = try await Self.seed(store, names: [("王", "秀英"), ("李", "娜"), ("赵", "强")], thirdObservationOf: 1)
            var observation = try Self.object(Self.observation(patients[0].id, loinc: "2345-7", date: "2024-05-01"))
            observation["identifier"] = .array([try JSONParser.parse(Array(#"{"system":"urn:oid:2.16.156.1","value":"LAB-2024-0501-17"}"#.utf8))])
            let result = try await store.create(observation, type: .observation, audit: .test)
            let document = try await store.create(
                try Self.object(
                    """
                    {"resourceType":"DocumentReference","status":"current",
                     "masterIdentifier":{"system":"urn:oid:2.16.156.10011.1.1","value":"CDA-8842"},
                     "identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0f6b2c1e-4d7a-4a55-9a3f-2f0c1d9e8b11"}],
                     "subject":{"reference":"Patient/\(patients[1].id)"},
                     "content":[{"attachment":{"contentType":"application/pdf","url":"Binary/x"}}]}
                    """), type: .documentReference, audit: .test)
            #expect(try await Self.ids(store, .observation, [("identifier", "urn:oid:2.16.156.1|LAB-2024-0501-17")]) == [result.id])
            #expect(try await Self.ids(store, .observation, [("identifier", "LAB-2024-0501-17")]) == [result.id])
            #expect(try await Self.ids(store, .observation, [("identifier", "urn:oid:2.16.156.2|LAB-2024-0501-17")]).isEmpty)
            #expect(try await Self.ids(store, .documentReference, [("identifier", "urn:oid:2.16.156.10011.1.1|CDA-8842")]) == [document.id])
            #expect(
                try await Self.ids(store, .documentReference, [("identifier", "urn:ietf:rfc:3986|urn:uuid:0f6b2c1e-4d7a-4a55-9a3f-2f0c1d9e8b11")])
                    == [document.id])
            #expect(try await Self.ids(store, .documentReference, [("identifier", "CDA-8843")]).isEmpty)
            // A value is looked for under its own parameter's key: an Observation's identifier
            // does not find a DocumentReference with the same value.
            #expect(try await Self.ids(store, .documentReference, [("identifier", "LAB-2024-0501-17")]).isEmpty)
        }
    }

    /// A search by one identifier with its system is pinned to the record holding it (a probe
    /// without the access rule finds it; the access-checked statement is then a probe by key):
    /// the pin must never widen what a hospital sees, nor narrow it when several records hold
    /// the identifier, one was deleted, or one no longer holds it.
    @Test func aSearchByOneIdentifierFindsEveryHolderTheCallerMaySeeAndNoOther() async throws {
        try await KeysFixture.with { fixture in
            try await TestDatabase.execute(
                fixture.url, "INSERT INTO organizations (id, name, kind) VALUES ('hospital-a', '甲医院', 'hospital'), ('hospital-b', '乙医院', 'hospital')")
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            func access(_ organization: String) -> RecordAccess { RecordAccess(.organization(organization)) }
            func audit(_ organization: String) -> AuditContext {
                AuditContext(caller: Caller(client: "\(organization)-his", organization: organization), interaction: "create")
            }
            func result(_ patient: String, accession: String) throws -> JSONObject {
                var observation = try Self.object(Self.observation(patient, loinc: "2345-7", date: "2024-05-01"))
                observation["identifier"] = .array([.object(JSONObject([("system", .string("urn:oid:2.16.156.1")), ("value", .string(accession))]))])
                return observation
            }
            func found(_ organization: String?, _ accession: String, total: Bool = false) async throws -> ([String], Int?) {
                var parameters = [("identifier", "urn:oid:2.16.156.1|\(accession)")]
                if total { parameters.append(("_total", "accurate")) }
                let answer = try await store.search(
                    try SearchQuery(type: .observation, parameters: parameters, lenient: false),
                    access: organization.map(access) ?? RecordAccess(.unrestricted))
                return (answer.resources.map(\.id), answer.total)
            }
            let patientA = try await store.create(
                try Self.object(Self.patient("王", "秀英", "11010519491231002X", gender: "female", birthDate: "1949-12-31")), type: .patient,
                access: access("hospital-a"), audit: audit("hospital-a"))
            let patientB = try await store.create(
                try Self.object(Self.patient("李", "娜", "310115198803070019", gender: "female", birthDate: "1988-03-07")), type: .patient,
                access: access("hospital-b"), audit: audit("hospital-b"))

            // One holder: its writer finds it; the other hospital finds nothing, count included.
            let first = try await store.create(
                try result(patientA.id, accession: "LAB-1"), type: .observation, access: access("hospital-a"),
                audit: audit("hospital-a"))
            #expect(try await found("hospital-a", "LAB-1", total: true) == ([first.id], 1))
            #expect(try await found("hospital-b", "LAB-1", total: true) == ([], 0))
            #expect(try await found("hospital-a", "LAB-9", total: true) == ([], 0))

            // Two holders: each hospital finds its own, the hub's own jobs both.
            let second = try await store.create(
                try result(patientB.id, accession: "LAB-1"), type: .observation, access: access("hospital-b"),
                audit: audit("hospital-b"))
            #expect(try await found("hospital-a", "LAB-1") == ([first.id], nil))
            #expect(try await found("hospital-b", "LAB-1") == ([second.id], nil))
            #expect(try await found(nil, "LAB-1").0 == [first.id, second.id].sorted())

            // A deleted holder is no longer found; the remaining one still is.
            _ = try await store.delete(.observation, id: second.id, access: access("hospital-b"), audit: audit("hospital-b"))
            #expect(try await found("hospital-b", "LAB-1") == ([], nil))
            #expect(try await found(nil, "LAB-1").0 == [first.id])

            // A record that no longer holds the identifier is found by its new one only.
            var renumbered = try result(patientA.id, accession: "LAB-2")
            renumbered["id"] = .string(first.id)
            _ = try await store.update(
                renumbered, type: .observation, id: first.id, ifMatch: nil, access: access("hospital-a"), audit: audit("hospital-a"))
            #expect(try await found("hospital-a", "LAB-1") == ([], nil))
            #expect(try await found("hospital-a", "LAB-2") == ([first.id], nil))

            // The probe itself: only for one identifier with its system, at most one more id
            // than the slots; held by more than the slots, the search runs unpinned and still
            // finds every holder it may see.
            func candidates(_ parameters: [(String, String)]) async throws -> [String]? {
                var query = try SearchQuery(type: .observation, parameters: parameters, lenient: false)
                return try await store.identifierCandidates(&query)
            }
            #expect(try await candidates([("identifier", "urn:oid:2.16.156.1|LAB-2")]) == [first.id])
            #expect(try await candidates([("identifier", "urn:oid:2.16.156.1|LAB-1")]) == [])
            #expect(try await candidates([("identifier", "LAB-2")]) == nil)
            #expect(try await candidates([("identifier:not", "urn:oid:2.16.156.1|LAB-2")]) == nil)
            #expect(try await candidates([("identifier", "urn:oid:2.16.156.1|LAB-2"), ("status", "final")]) == nil)
            var many: [String] = []
            for _ in 0...PostgresResourceStore.pinnedSlots {
                many.append(
                    try await store.create(
                        try result(patientA.id, accession: "LAB-M"), type: .observation, access: access("hospital-a"), audit: audit("hospital-a")
                    ).id)
            }
            #expect(try await candidates([("identifier", "urn:oid:2.16.156.1|LAB-M")])?.count == PostgresResourceStore.pinnedSlots + 1)
            #expect(try await found("hospital-a", "LAB-M", total: true) == (many.sorted(), many.count))
            #expect(try await found("hospital-b", "LAB-M", total: true) == ([], 0))
            _ = try await store.delete(.observation, id: many[0], access: access("hospital-a"), audit: audit("hospital-a"))
            #expect(try await found("hospital-a", "LAB-M", total: true) == (Array(many.dropFirst()).sorted(), many.count - 1))
        }
    }

    /// The common parameters on `meta`: `_tag` and `_security` as tokens, `_profile` as a whole
    /// URI (a canonical's `|version` is part of it).
    @Test func findsByTagSecurityLabelAndProfile() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let (patients, observations) = try await Self.seed(store, names: [("王", "秀英"), ("李", "娜"), ("赵", "强")], thirdObservationOf: 1)
            var observation = try Self.object(Self.observation(patients[0].id, loinc: "2345-7", date: "2024-05-01"))
            observation["meta"] = try JSONParser.parse(
                Array(
                    #"{"tag":[{"system":"urn:health-hub:tag","code":"screening"}],"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"profile":["http://example.org/fhir/StructureDefinition/cn-lab|1.0"]}"#
                        .utf8))
            let tagged = try await store.create(observation, type: .observation, audit: .test)
            #expect(try await Self.ids(store, .observation, [("_tag", "urn:health-hub:tag|screening")]) == [tagged.id])
            #expect(try await Self.ids(store, .observation, [("_tag", "screening")]) == [tagged.id])
            #expect(try await Self.ids(store, .observation, [("_tag", "other|screening")]).isEmpty)
            #expect(try await Self.ids(store, .observation, [("_security", "R")]) == [tagged.id])
            #expect(
                Set(try await Self.ids(store, .observation, [("_security:not", "R")])) == Set(observations.map(\.id)))
            #expect(try await Self.ids(store, .observation, [("_profile", "http://example.org/fhir/StructureDefinition/cn-lab|1.0")]) == [tagged.id])
            #expect(try await Self.ids(store, .observation, [("_profile", "http://example.org/fhir/StructureDefinition/cn-lab")]).isEmpty)
            #expect(throws: ResourceError.self) { try SearchQuery(type: .observation, parameters: [("_profile:below", "http://x")], lenient: false) }
        }
    }

    @Test func lenientHandlingIgnoresAndReportsUnknownParameters() throws {
        let query = try SearchQuery(type: .patient, parameters: [("shoe-size", "42"), ("gender", "male")], lenient: true)
        #expect(query.ignored == ["shoe-size"])
        #expect(query.clauses.count == 1)
    }

    @Test func sortsByLastUpdatedOrIdEitherWayAcrossPages() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(CryptoSuite.international()), logger: fixture.logger)
            var created: [String] = []
            for index in 0..<5 {
                created.append(
                    try await store.create(
                        try Self.object(#"{"resourceType":"Organization","name":"机构\#(index)"}"#), type: .organization, audit: .test
                    ).id)
                try await Task.sleep(for: .milliseconds(3))
            }
            func all(_ sort: String) async throws -> [String] {
                var ids: [String] = []
                var cursor: String?
                repeat {
                    var parameters = [("_sort", sort), ("_count", "2")]
                    if let cursor { parameters.append(("_cursor", cursor)) }
                    let page = try await store.search(try SearchQuery(type: .organization, parameters: parameters, lenient: false))
                    ids += page.resources.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil
                return ids
            }
            #expect(try await all("_lastUpdated") == created)
            #expect(try await all("-_lastUpdated") == created.reversed())
            #expect(try await all("_id") == created.sorted())
            #expect(try await all("-_id") == created.sorted().reversed())
            #expect(throws: ResourceError.self) { try SearchQuery(type: .organization, parameters: [("_sort", "name")], lenient: false) }
        }
    }

    @Test func includesAndReverseIncludesDeclaredReferences() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(try CryptoSuite.sm()), logger: fixture.logger)
            let zhang = try await store.create(
                try Self.object(Self.patient("张", "伟", "330106198001011235", gender: "male", birthDate: "1980-01-01")), type: .patient, audit: .test)
            let a = try await store.create(
                try Self.object(Self.observation(zhang.id, loinc: "2345-7", date: "2025-01-01")), type: .observation, audit: .test)
            let b = try await store.create(
                try Self.object(Self.observation(zhang.id, loinc: "718-7", date: "2025-01-02")), type: .observation, audit: .test)

            let withPatient = try await store.search(
                try SearchQuery(type: .observation, parameters: [("code", "2345-7"), ("_include", "Observation:patient")], lenient: false))
            #expect(withPatient.resources.map(\.id) == [a.id])
            #expect(withPatient.included.map(\.id) == [zhang.id])

            let withObservations = try await store.search(
                try SearchQuery(type: .patient, parameters: [("_id", zhang.id), ("_revinclude", "Observation:patient")], lenient: false))
            #expect(Set(withObservations.included.map(\.id)) == [a.id, b.id])

            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .observation, parameters: [("_include", "Observation:code")], lenient: false)
            }
            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .observation, parameters: [("_include", "Patient:organization")], lenient: false)
            }

            // :iterate follows what was included: a report's results, then their patient.
            let report = try await store.create(
                try Self.object(
                    #"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"生化"},"result":[{"reference":"Observation/\#(a.id)"}]}"#),
                type: .diagnosticReport, audit: .test)
            let iterated = try await store.search(
                try SearchQuery(
                    type: .diagnosticReport,
                    parameters: [("_id", report.id), ("_include", "DiagnosticReport:result"), ("_include:iterate", "Observation:patient")],
                    lenient: false))
            #expect(iterated.included.map(\.id) == [a.id, zhang.id])
            let notIterated = try await store.search(
                try SearchQuery(
                    type: .diagnosticReport,
                    parameters: [("_id", report.id), ("_include", "DiagnosticReport:result"), ("_include", "DiagnosticReport:subject")],
                    lenient: false))
            #expect(notIterated.included.map(\.id) == [a.id])
            // The patient's results, then the reports that cite them.
            let reverse = try await store.search(
                try SearchQuery(
                    type: .patient,
                    parameters: [("_id", zhang.id), ("_revinclude", "Observation:patient"), ("_revinclude:iterate", "DiagnosticReport:result")],
                    lenient: false))
            #expect(Set(reverse.included.map(\.id)) == [a.id, b.id, report.id])
            // _include=* is every reference parameter of the type.
            let everything = try await store.search(
                try SearchQuery(type: .observation, parameters: [("_id", b.id), ("_include", "*")], lenient: false))
            #expect(everything.included.map(\.id) == [zhang.id])
            // A target type narrows; a wrong one, or another modifier, is refused.
            let narrowed = try await store.search(
                try SearchQuery(type: .observation, parameters: [("_id", b.id), ("_include", "Observation:performer:Organization")], lenient: false))
            #expect(narrowed.included.isEmpty)
            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .observation, parameters: [("_include", "Observation:patient:Organization")], lenient: false)
            }
            #expect(throws: ResourceError.self) {
                try SearchQuery(type: .observation, parameters: [("_include:deep", "Observation:patient")], lenient: false)
            }
        }
    }

    @Test func quantitiesMatchAtTheirPrecision() async throws {
        try await KeysFixture.with { fixture in
            let store = PostgresResourceStore(database: fixture.database, ring: fixture.ring(CryptoSuite.international()), logger: fixture.logger)
            var ids: [String: String] = [:]
            for value in ["5.4", "5.44", "5.46", "6.1", "100"] {
                let json =
                    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"valueQuantity":{"value":\#(value),"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}"#
                ids[value] = try await store.create(try Self.object(json), type: .observation, audit: .test).id
            }
            func found(_ query: String) async throws -> Set<String> {
                let matched = try await Self.ids(store, .observation, [("value-quantity", query)])
                return Set(ids.filter { matched.contains($0.value) }.keys)
            }
            #expect(try await found("5.4") == ["5.4", "5.44"])  // [5.35, 5.45)
            #expect(try await found("5.40") == ["5.4"])  // [5.395, 5.405)
            #expect(try await found("gt5.44") == ["5.46", "6.1", "100"])
            #expect(try await found("le5.44|http://unitsofmeasure.org|mmol/L") == ["5.4", "5.44"])
            #expect(try await found("ge6.1||mg/dL").isEmpty)
            #expect(try await found("100") == ["100"])
            #expect(try await found("ne5.4").count == 3)
            #expect(throws: ResourceError.self) { try SearchQuery(type: .observation, parameters: [("value-quantity", "1e3")], lenient: false) }
        }
    }

    @Test func cursorTimestampsAreExact() throws {
        #expect(try TimeCursor(parsing: "1764522416934000:Patient/a").timestampLiteral == "2025-11-30T17:06:56.934000Z")
        #expect(try TimeCursor(parsing: "0:x").timestampLiteral == "1970-01-01T00:00:00.000000Z")
        let cursor = try TimeCursor(parsing: "1764522416000001:Observation/b:c")
        #expect(cursor.timestampLiteral == "2025-11-30T17:06:56.000001Z")
        #expect(cursor.key == "Observation/b:c")
        // What a page ends with comes back as the same position.
        let time = Date(timeIntervalSince1970: 1_764_522_416.934)
        #expect(try TimeCursor(parsing: TimeCursor.encode(time, "k")).timestampLiteral == "2025-11-30T17:06:56.934000Z")
        for bad in ["", "12", "x:y", ":k"] {
            #expect(throws: ResourceError.self) { try TimeCursor(parsing: bad) }
        }
    }
}
