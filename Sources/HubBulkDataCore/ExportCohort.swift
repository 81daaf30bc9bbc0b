public import Foundation
public import HubFHIR
public import HubResourcesCore

/// The patients of a Group-level export (`GET [base]/Group/[id]/$export`, Bulk Data IG v2): the
/// members of the Group as it was at the kick-off. Kept with the job, so that a member added or
/// removed later changes nothing of an export already asked for — as every record it reads is
/// read as it was at the kick-off.
///
/// The Group only chooses among patients; what of each the export holds is still what the
/// caller may see (``ExportJobDescription/access``). Listing another hospital's patient in one's
/// Group opens nothing.
public struct ExportCohort: Sendable, Equatable {
    /// The Group's id (its own organization's: Groups are private to their writer).
    public var group: String
    /// The member Patients' ids, each once, in the Group's order.
    public var patients: [String]

    /// At most this many member patients per Group-level export: the job keeps them in its
    /// sealed description, and each page binds them.
    public static let maximumMembers = 100_000

    public init(group: String, patients: [String]) {
        self.group = group
        self.patients = patients
    }

    /// The patients `resource` (a stored Group, `id`) lists as members at `instant`: each
    /// `member.entity` that references a Patient on the hub (`Patient/<id>`), unless the member
    /// is `inactive` or its `period` does not hold `instant`. Members that are not patients
    /// (Practitioners, Devices, Groups within the Group) or live on another server are not read.
    ///
    /// - Throws: 422 when the Group is not an actual group (`actual` false: a definition by
    ///   characteristics, whose members the hub does not compute), is no longer in use
    ///   (`active` false), or lists more than ``maximumMembers`` patients.
    public init(group resource: JSONObject, id: String, at instant: Date) throws(ResourceError) {
        guard resource["active"]?.boolValue != false else {
            throw ResourceError(
                .unprocessable, .businessRule, "this Group is no longer in use (Group.active false): its members are not exported",
                expression: ["Group.active"])
        }
        guard resource["actual"]?.boolValue == true else {
            throw ResourceError(
                .unprocessable, .businessRule,
                "a Group-level export reads the members an actual Group lists (Group.actual true); this Group defines its members by characteristics",
                expression: ["Group.actual"])
        }
        var patients: [String] = []
        var seen: Set<String> = []
        for member in resource["member"]?.arrayValue ?? [] {
            guard let member = member.objectValue, member["inactive"]?.boolValue != true, Self.holds(member["period"], at: instant),
                case .resource("Patient", let patient) = ReferenceTarget(member["entity"]?.objectValue?["reference"]?.stringValue)
            else { continue }
            if seen.insert(patient).inserted { patients.append(patient) }
        }
        guard patients.count <= Self.maximumMembers else {
            throw ResourceError(
                .unprocessable, .tooCostly,
                "a Group-level export reads at most \(Self.maximumMembers) member patients; this Group lists \(patients.count)",
                expression: ["Group.member"])
        }
        self.init(group: id, patients: patients)
    }

    /// Whether a member's `period` (absent: always) holds `instant`: begun by then and not ended.
    static func holds(_ period: JSONValue?, at instant: Date) -> Bool {
        guard let period = period?.objectValue else { return true }
        if let start = period["start"]?.stringValue, let range = FHIRDateRange(start), range.low > instant { return false }
        if let end = period["end"]?.stringValue, let range = FHIRDateRange(end), range.high <= instant { return false }
        return true
    }
}
