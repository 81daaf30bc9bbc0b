import Foundation
import HubAudit
import HubFHIR
import Testing

/// The figures of a report, from a scripted history of accesses whose counts are known.
@Suite struct AuditReportSectionsTests {
    /// 2026-11-30 is a Monday; times are China Standard Time.
    static func at(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
        var components = DateComponents(year: 2026, month: 11, day: day, hour: hour, minute: minute)
        components.timeZone = AuditReportSections.zone
        return Calendar(identifier: .gregorian).date(from: components)!
    }

    static func record(
        _ time: Date, _ user: String, _ organization: String, patient: String?, status: Int? = 200,
        issue: OperationOutcome.Issue.IssueType? = nil, action: AuditRecord.Action = .read, emergency: String? = nil
    ) -> AuditRecord {
        AuditRecord(
            time: time, action: action, interaction: action == .read ? "read" : "create", outcome: issue == nil ? .success : .minorFailure,
            issue: issue, status: status,
            caller: Caller(
                client: "\(organization)-his", organization: organization, user: user, purposeOfUse: emergency == nil ? "TREAT" : "ETREAT",
                breakGlassReason: emergency),
            patient: patient, resourceType: "Observation", entities: patient.map { ["Observation/\($0)-1/_history/1"] } ?? []
        )
    }

    static var history: [(index: Int, record: AuditRecord)] {
        var records: [AuditRecord] = []
        // Hospital A's doctor: five patients in office hours, and one write.
        for n in 1...5 { records.append(record(at(30, 10, n), "doctor-a", "hospital-a", patient: "p\(n)")) }
        records.append(record(at(30, 11), "doctor-a", "hospital-a", patient: "p1", action: .create))
        // Hospital B's doctor: one read late at night, one refused.
        records.append(record(at(30, 22), "doctor-b", "hospital-b", patient: "p1"))
        records.append(record(at(30, 22, 5), "doctor-b", "hospital-b", patient: "p2", status: 403, issue: .forbidden))
        // Break-glass at 03:00 on Saturday 28th.
        records.append(record(at(28, 3), "doctor-c", "hospital-c", patient: "p9", emergency: "患者昏迷送急诊，需查看过敏史"))
        // A clerk who looked at forty patients.
        for n in 1...40 { records.append(record(at(30, 14, n), "clerk-d", "hospital-a", patient: "q\(n)")) }
        // Outside the period.
        records.append(record(at(27, 10), "doctor-a", "hospital-a", patient: "p1"))
        return records.enumerated().map { ($0.offset, $0.element) }
    }

    static let period = AuditReportParameters(from: at(28, 0), to: at(31, 0))

    /// A report signed before leaf format 2 must still verify: its version 1 records are listed
    /// as it listed them (an HTTP status, no issue), while a record that has no status — an HL7 v2
    /// message over MLLP — is a denial by its issue.
    @Test func versionOneRecordsAreListedAsVersionOneReportsListedThem() throws {
        let leaf =
            #"{"action":"R","client":"his-b","id":"0b1e","interaction":"read","organization":"hospital-b","outcome":4,"patient":"p1","purpose":"TREAT","status":403,"time":"2026-11-30T06:00:00.000Z","type":"Patient","user":"doctor-b","v":1}"#
        let old = try AuditRecord(leafBytes: Array(leaf.utf8))
        let mllp = Self.record(Self.at(30, 15), "lab-b", "hospital-b", patient: "p2", status: nil, issue: .forbidden, action: .create)
        let sections = AuditReportSections.compute([(0, old), (1, mllp)], parameters: Self.period)
        #expect(sections.denied.count == 2)
        #expect(sections.denied.first { $0.index == 0 }.map { ($0.status, $0.issue) }! == (403, nil))
        #expect(sections.denied.first { $0.index == 1 }.map { ($0.status, $0.issue) }! == (nil, "forbidden"))
        #expect(sections.byOrganization.first { $0.key == "hospital-b" }?.denied == 2)
        let listed = String(decoding: try JSONEncoder().encode(sections.denied.first { $0.index == 0 }), as: UTF8.self)
        #expect(!listed.contains("issue"))
    }

    @Test func countsEveryAccessOfThePeriodOnce() {
        let sections = AuditReportSections.compute(Self.history, parameters: Self.period)
        #expect(sections.total == 49)
        let a = sections.byOrganization.first { $0.key == "hospital-a" }
        #expect(a?.total == 46)
        #expect(a?.writes == 1)
        #expect(a?.reads == 45)
        #expect(sections.byOrganization.first { $0.key == "hospital-b" }?.denied == 1)
        #expect(sections.denied.map(\.user) == ["doctor-b"])
        #expect(sections.denied.first?.status == 403)
        #expect(sections.denied.first?.result == "403 forbidden")
        #expect(sections.byAction.first { $0.key == "C create" }?.total == 1)
        // Daily buckets (a three-day period), in order.
        #expect(sections.overTime.map(\.start) == ["2026-11-28", "2026-11-30"])
        #expect(sections.overTime.last?.denied == 1)
    }

    @Test func findsBreakGlassAfterHoursAndUnusualUsers() {
        let sections = AuditReportSections.compute(Self.history, parameters: Self.period)
        #expect(sections.breakGlass.count == 1)
        #expect(sections.breakGlass.first?.reason == "患者昏迷送急诊，需查看过敏史")
        #expect(sections.breakGlass.first?.entities == ["Observation/p9-1/_history/1"])
        // 22:00 and 22:05 on Monday, 03:00 on Saturday.
        #expect(sections.afterHours == 3)
        #expect(sections.byUser.first { $0.user == "doctor-b" }?.afterHours == 2)
        #expect(sections.unusualUsers.map(\.user) == ["clerk-d"])
        #expect(sections.unusualUsers.first?.distinctPatients == 40)
        // A denied read is not a patient seen.
        #expect(sections.byUser.first { $0.user == "doctor-b" }?.distinctPatients == 1)
    }

    @Test func aPatientsReportListsWhoSawTheRecord() {
        var parameters = Self.period
        parameters.patient = "p1"
        let sections = AuditReportSections.compute(Self.history, parameters: parameters)
        #expect(sections.patientAccesses?.map(\.user) == ["doctor-a", "doctor-a", "doctor-b"])
        #expect(sections.total == 3)
        var organization = Self.period
        organization.organization = "hospital-b"
        #expect(AuditReportSections.compute(Self.history, parameters: organization).total == 2)
    }
}
