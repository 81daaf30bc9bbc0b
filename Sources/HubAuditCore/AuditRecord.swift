public import Foundation
public import HubFHIR

/// One audited interaction with one patient's data (or with no patient's, for searches that
/// found nothing and for administration) — a leaf of the audit log.
///
/// Shaped after IHE BALP: a search that returns several patients' resources is recorded once per
/// patient, each record naming the resources (with versions) it returned of that patient.
/// A record holds ids, codes and addresses only: no names, identifiers or clinical content,
/// and search parameter *names* without their values (values may be identifiers).
///
/// Its ``leafBytes`` are the exact bytes hashed into the Merkle tree; `docs/audit.md` specifies
/// them for verifiers written in other languages.
///
/// What happened is said the same way whatever the transport: ``outcome`` and, for a failure,
/// its FHIR ``issue`` type. Only a request over HTTP also has the ``status`` it was answered —
/// the store, recording a write in its transaction, and the MLLP listener have none to give.
public struct AuditRecord: Sendable, Equatable {
    /// The format version of new records' ``leafBytes``: 2 since `issue` joined and `status`
    /// became HTTP's alone. Version 1 leaves (an HTTP status on every record) are still read.
    public static let formatVersion = 2

    /// What happened, as FHIR `AuditEvent.action`.
    public enum Action: String, Sendable, CaseIterable {
        case create = "C"
        case read = "R"
        case update = "U"
        case delete = "D"
        case execute = "E"
    }

    /// FHIR `AuditEvent.outcome`: 0 success, 4 minor failure (a client error such as a denial),
    /// 8 serious failure (a server error), 12 major failure.
    public enum Outcome: Int, Sendable {
        case success = 0
        case minorFailure = 4
        case seriousFailure = 8
        case majorFailure = 12

        /// The outcome an HTTP status stands for (a request over HTTP).
        public init(status: Int) {
            switch status {
            case ..<400: self = .success
            case ..<500: self = .minorFailure
            default: self = .seriousFailure
            }
        }
    }

    /// A random UUID; also the AuditEvent's id.
    public var id: String
    /// When the interaction happened (millisecond precision).
    public var time: Date
    public var action: Action
    /// The FHIR interaction or hub operation: `read`, `vread`, `search-type`, `history-instance`,
    /// `create`, `update`, `patch`, `delete`, `transaction`, `batch`, `operation`, `admin`, `export`.
    public var interaction: String
    public var outcome: Outcome
    /// For an interaction that failed: why, as a FHIR issue type (`forbidden`, `login`,
    /// `invalid`, `conflict`, `throttled`, `transient`, …) — the code of the error it failed on.
    public var issue: OperationOutcome.Issue.IssueType?
    /// The HTTP status answered, for a request over HTTP; nil for what is not (a write the store
    /// records in its transaction, an HL7 v2 message over MLLP, a token issued).
    public var status: Int?
    /// The format of this record's leaf: ``formatVersion``, or 1 for a record read from an
    /// older leaf (so that it serialises back to the same bytes).
    public var version: Int
    public var caller: Caller
    /// The patient whose data this record is about (a Patient id), if any.
    public var patient: String?
    /// The resource type the request addressed.
    public var resourceType: String?
    /// Every resource returned or written for this patient: `Type/id/_history/version`.
    public var entities: [String]
    /// The search or operation parameters' names (never their values).
    public var parameters: [String]

    public init(
        id: String = UUID().uuidString.lowercased(),
        time: Date,
        action: Action,
        interaction: String,
        outcome: Outcome = .success,
        issue: OperationOutcome.Issue.IssueType? = nil,
        status: Int? = nil,
        caller: Caller,
        patient: String? = nil,
        resourceType: String? = nil,
        entities: [String] = [],
        parameters: [String] = []
    ) {
        self.id = id
        self.time = time
        self.action = action
        self.interaction = interaction
        self.outcome = outcome
        self.issue = issue
        self.status = status
        self.version = Self.formatVersion
        self.caller = caller
        self.patient = patient
        self.resourceType = resourceType
        self.entities = entities
        self.parameters = parameters
    }

    // MARK: Leaf bytes

    /// The canonical serialisation hashed into the log: one JSON object, members sorted by key
    /// (all keys are ASCII), no whitespace, absent members omitted, integers only, strings with
    /// `"` `\` escaped, `\n` `\r` `\t` as such, other control characters as `\u00xx`, everything
    /// else as UTF-8. It never contains a newline, so a log download is one record per line.
    public var leafBytes: [UInt8] {
        var members: [(String, JSONValue)] = [
            ("action", .string(self.action.rawValue)),
            ("id", .string(self.id)),
            ("interaction", .string(self.interaction)),
            ("outcome", .number(String(self.outcome.rawValue))),
            ("purpose", .string(self.caller.purposeOfUse)),
            ("time", .string(UTCTime(self.time).instant)),
            ("v", .number(String(self.version))),
        ]
        if let status = self.status { members.append(("status", .number(String(status)))) }
        func add(_ key: String, _ value: String?) {
            if let value { members.append((key, .string(value))) }
        }
        add("address", self.caller.address)
        add("breakGlass", self.caller.breakGlassReason)
        // (Version 1 had no issue member; what is read into one from its status is not written back.)
        if self.version >= 2 { add("issue", self.issue?.rawValue) }
        add("client", self.caller.client)
        add("organization", self.caller.organization)
        add("patient", self.patient)
        add("request", self.caller.requestID)
        add("type", self.resourceType)
        add("user", self.caller.user)
        if !self.entities.isEmpty { members.append(("entities", .array(self.entities.map(JSONValue.string)))) }
        if !self.parameters.isEmpty { members.append(("parameters", .array(self.parameters.map(JSONValue.string)))) }
        members.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return JSONValue.object(JSONObject(members)).serialized()
    }

    /// Reads a record back from its leaf bytes (a verifier's or report's view of the log).
    public init(leafBytes: [UInt8]) throws(AuditRecordError) {
        let object: JSONObject
        do {
            guard let parsed = try JSONParser.parse(leafBytes).objectValue else { throw AuditRecordError("a leaf is not a JSON object") }
            object = parsed
        } catch let error as AuditRecordError {
            throw error
        } catch {
            throw AuditRecordError("a leaf is not JSON: \(error)")
        }
        func string(_ key: String) -> String? { object[key]?.stringValue }
        func integer(_ key: String) -> Int? { object[key]?.numberText.flatMap { Int($0) } }
        guard let version = integer("v"), version == 1 || version == Self.formatVersion else {
            throw AuditRecordError("unknown record format \(object["v"]?.numberText ?? "none")")
        }
        guard let id = string("id"), let timeText = string("time"), let time = UTCTime.parseInstant(timeText),
            let action = string("action").flatMap(Action.init(rawValue:)), let interaction = string("interaction"),
            let outcome = integer("outcome").flatMap(Outcome.init(rawValue:)), let purpose = string("purpose")
        else {
            throw AuditRecordError("a leaf lacks one of id, time, action, interaction, outcome, purpose")
        }
        let status = integer("status")
        var issue: OperationOutcome.Issue.IssueType?
        if version == 1 {
            // Version 1 put an HTTP status on every record and had no issue: its denials were
            // its 401s and 403s, which is all that is read of a version 1 failure.
            guard let status else { throw AuditRecordError("a version 1 leaf lacks its status") }
            issue = status == 401 ? .login : status == 403 ? .forbidden : nil
        } else if let text = string("issue") {
            guard let known = OperationOutcome.Issue.IssueType(rawValue: text) else { throw AuditRecordError("unknown issue type \(text)") }
            issue = known
        }
        let caller = Caller(
            client: string("client"),
            organization: string("organization"),
            user: string("user"),
            address: string("address"),
            purposeOfUse: purpose,
            breakGlassReason: string("breakGlass"),
            requestID: string("request")
        )
        self.init(
            id: id,
            time: time,
            action: action,
            interaction: interaction,
            outcome: outcome,
            issue: issue,
            status: status,
            caller: caller,
            patient: string("patient"),
            resourceType: string("type"),
            entities: object["entities"]?.elements.compactMap(\.stringValue) ?? [],
            parameters: object["parameters"]?.elements.compactMap(\.stringValue) ?? []
        )
        self.version = version
    }
}

/// A leaf that is not an audit record of a known format.
public struct AuditRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
