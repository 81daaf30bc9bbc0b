import Foundation
import HubAuditCore
import HubBulkDataCore
import HubFHIR
import HubResourcesCore
import Testing

/// The kick-off's parameters as the IG v2 defines them, refused at once when they cannot be run.
@Suite struct ExportRequestTests {
    func request(_ query: String, level: ExportRequest.Level = .system, readable: Set<ResourceType>? = nil) throws -> ExportRequest {
        try ExportRequest(level: level, query: query, readable: readable)
    }

    func refusal(_ query: String, level: ExportRequest.Level = .system, readable: Set<ResourceType>? = nil) -> ResourceError? {
        do {
            _ = try self.request(query, level: level, readable: readable)
            return nil
        } catch {
            return error as? ResourceError
        }
    }

    @Test func typesDefaultToWhatTheCallerMayReadAndTheLevelHolds() throws {
        #expect(try self.request("").types == ResourceType.allCases)
        let patientLevel = try self.request("", level: .patient).types
        #expect(patientLevel.contains(.patient) && patientLevel.contains(.observation) && patientLevel.contains(.consent))
        // Outside every compartment: the directory's resources, Slots, Subscriptions.
        for type in [ResourceType.organization, .practitioner, .practitionerRole, .slot, .subscription] {
            #expect(!patientLevel.contains(type), "\(type)")
        }
        #expect(try self.request("", readable: [.patient, .observation]).types == [.patient, .observation])
        #expect(try self.request("_type=Observation,Patient,Observation").types == [.observation, .patient])
    }

    @Test func outputFormatsSinceAndTypeFilters() throws {
        for format in ["application%2Ffhir%2Bndjson", "application/fhir+ndjson", "application/ndjson", "ndjson"] {
            #expect(throws: Never.self) { try self.request("_outputFormat=\(format)") }
        }
        let since = try self.request("_since=2026-12-01T08:00:00%2B08:00").since
        #expect(since == Date(timeIntervalSince1970: 1_796_083_200))
        // The `+` of an offset a client did not encode arrives as a space.
        #expect(try self.request("_since=2026-12-01T08:00:00+08:00").since == since)
        // Commas between queries are the raw ones; an encoded comma stays inside its query (OR).
        let filtered = try self.request(
            "_type=Observation,Condition&_typeFilter=Observation%3Fcode%3Dhttp%3A%2F%2Floinc.org%7C2345-7%252C718-7,Condition%3Fclinical-status%3Dactive"
                + "&_typeFilter=Observation%3Fstatus%3Dfinal")
        #expect(filtered.typeFilters[.observation] == ["code=http://loinc.org|2345-7%2C718-7", "status=final"])
        #expect(filtered.typeFilters[.condition] == ["clinical-status=active"])
        let queries = try filtered.filterQueries()
        #expect(queries[.observation]?.count == 2 && queries[.condition]?.count == 1)
        #expect(filtered.parameterNames == ["_type", "_typeFilter"])
    }

    @Test func whatCannotBeRunIsRefusedAtOnce() {
        for (query, code) in [
            ("_outputFormat=text%2Fcsv", ResourceError.Code.invalid), ("_type=Unicorn", .invalid), ("_type=", .invalid),
            ("_since=soon", .invalid), ("_since=2026-12-01", .invalid), ("_since=2026-12-01T00:00:00Z&_since=2026-12-02T00:00:00Z", .invalid),
            ("patient=Patient%2F1", .invalid), ("_elements=id", .invalid), ("color=blue", .invalid),
            ("_typeFilter=Observation%3F_count%3D5", .invalid), ("_typeFilter=Observation%3F_sort%3Ddate", .invalid),
            ("_typeFilter=Observation%3Fnonsense%3D1", .invalid), ("_typeFilter=Unicorn%3Fx%3D1", .invalid), ("_typeFilter=code%3D1", .invalid),
            ("_type=Patient&_typeFilter=Observation%3Fcode%3D1", .invalid), ("_typeFilter=", .invalid), ("%ZZ=1", .invalid),
            ("_type=Observation", .forbidden),
        ] {
            #expect(self.refusal(query, readable: [.patient])?.code == code, "\(query)")
        }
        #expect(self.refusal("_type=Organization", level: .patient)?.code == .invalid)
        #expect(self.refusal("", readable: [.organization]) == nil)
        #expect(self.refusal("", level: .patient, readable: [.organization])?.code == .forbidden)
        let many = (0...ExportRequest.maximumTypeFilters).map { _ in "Observation%3Fstatus%3Dfinal" }.joined(separator: ",")
        #expect(self.refusal("_typeFilter=\(many)")?.issueType == .tooCostly)
    }

    @Test func theSealedDescriptionReadsBackWhole() throws {
        let request = try self.request(
            "_type=Patient,Observation&_since=2026-12-01T08:00:00.123Z&_typeFilter=Observation%3Fcode%3Dhttp%3A%2F%2Floinc.org%7C2345-7",
            level: .patient)
        let caller = Caller(client: "his", organization: "hospital", address: "127.0.0.1", requestID: "r-1")
        let description = ExportJobDescription(
            request: request, requestURL: "https://hub/fhir/Patient/$export?_type=Patient,Observation", caller: caller,
            readableTypes: [.observation, .patient])
        let read = try #require(ExportJobDescription(serialized: description.serialized))
        #expect(read == description)
        #expect(read.access?.organization == "hospital" && read.access?.emergencyPatient == nil)
        #expect(read.access?.permits(.observation, write: true) == false)
        #expect(ExportJobDescription(serialized: Array(#"{"request":{}}"#.utf8)) == nil)
        let unrestricted = ExportJobDescription(request: request, requestURL: "https://hub/fhir/$export", caller: caller, readableTypes: nil)
        #expect(ExportJobDescription(serialized: unrestricted.serialized)?.readableTypes == nil)
    }

    @Test func aGroupsCohortIsItsCurrentPatientMembers() throws {
        let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01
        func member(_ reference: String, _ extra: [(String, JSONValue)] = []) -> JSONValue {
            .object(JSONObject([("entity", .object(JSONObject([("reference", .string(reference))])))] + extra))
        }
        func period(_ start: String?, _ end: String?) -> (String, JSONValue) {
            (
                "period",
                .object(JSONObject([start.map { ("start", JSONValue.string($0)) }, end.map { ("end", JSONValue.string($0)) }].compactMap { $0 }))
            )
        }
        let group = JSONObject([
            ("resourceType", .string("Group")), ("type", .string("person")), ("actual", .bool(true)),
            (
                "member",
                .array([
                    member("Patient/a"), member("Patient/b", [period("2026-01-01", nil)]), member("Patient/a"),
                    member("Patient/c", [("inactive", .bool(true))]), member("Patient/d", [period("2025-01-01", "2025-12-31")]),
                    member("Patient/e", [period("2026-12-02", nil)]), member("Patient/f", [period(nil, "2026-12-01")]),
                    member("Practitioner/g"), member("https://elsewhere.example/fhir/Patient/h"), member("Patient/i/_history/2"),
                    .object(JSONObject([("entity", .object(JSONObject([("display", .string("王秀英"))])))])),
                ])
            ),
        ])
        let cohort = try ExportCohort(group: group, id: "cohort", at: now)
        // `f`'s membership ends on the day of `now`: it still holds (a date's end is the day's end).
        #expect(cohort == ExportCohort(group: "cohort", patients: ["a", "b", "f", "i"]))
        var definitional = group
        definitional["actual"] = .bool(false)
        #expect(throws: ResourceError.self) { try ExportCohort(group: definitional, id: "x", at: now) }
        var retired = group
        retired["active"] = .bool(false)
        #expect(throws: ResourceError.self) { try ExportCohort(group: retired, id: "x", at: now) }
        var many = group
        many["member"] = .array((0...ExportCohort.maximumMembers).map { member("Patient/p\($0)") })
        #expect {
            try ExportCohort(group: many, id: "x", at: now)
        } throws: { ($0 as? ResourceError)?.issueType == .tooCostly }

        // A Group-level request holds the compartment types, reads its members, and keeps them sealed.
        var request = try self.request("_type=Patient,Observation", level: .group)
        #expect(self.refusal("_type=Group", level: .group)?.code == .invalid)
        #expect(!(try self.request("", level: .group).types.contains(.group)))
        #expect(request.patients == .among([]))
        request.cohort = cohort
        #expect(request.patients == .among(["a", "b", "f", "i"]))
        let caller = Caller(client: "his", organization: "hospital", address: "127.0.0.1", requestID: "r-1")
        let description = ExportJobDescription(
            request: request, requestURL: "https://hub/fhir/Group/cohort/$export", caller: caller, readableTypes: nil)
        #expect(ExportJobDescription(serialized: description.serialized) == description)
        // A Group level without its members, or members without a Group level, is not a description.
        var orphan = description
        orphan.request.cohort = nil
        #expect(ExportJobDescription(serialized: orphan.serialized) == nil)
        #expect(try self.request("", level: .patient).patients == .filed)
        #expect(try self.request("").patients == .all)
    }

    @Test func theManifestNamesEveryFile() throws {
        let manifest = ExportManifest(
            transactionTime: Date(timeIntervalSince1970: 1_764_547_200.5), request: "https://hub/fhir/$export?_type=Patient",
            files: [.init(type: .patient, number: 1, count: 3), .init(type: .observation, number: 2, count: 7)])
        let json = try #require(manifest.json(fileBase: "https://hub/fhir/$export-file/j").objectValue)
        #expect(json["transactionTime"] == .string("2025-12-01T00:00:00.500Z"))
        #expect(json["requiresAccessToken"] == .bool(true))
        #expect(json["error"] == .array([]))
        let urls = json["output"]?.elements.compactMap { $0.objectValue?["url"]?.stringValue }
        #expect(urls == ["https://hub/fhir/$export-file/j/Patient-1.ndjson", "https://hub/fhir/$export-file/j/Observation-2.ndjson"])
        #expect(ExportManifest.File(name: "Observation-2.ndjson")?.number == 2)
        for name in ["Observation-02.ndjson", "Observation-0.ndjson", "Unicorn-1.ndjson", "Observation-1.json", "Observation.ndjson", "-1.ndjson"] {
            #expect(ExportManifest.File(name: name) == nil, "\(name)")
        }
    }
}
