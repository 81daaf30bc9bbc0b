import Foundation
import HTTPTypes
public import HubAudit
import HubFHIR
import HubResources
public import Hummingbird
import Logging
import Synchronization

/// Records every request to the clinical and audit APIs — reads, searches, writes, failures and
/// denials — before its response leaves; if the record cannot be written, the caller gets a 503
/// instead of the response (fail closed).
///
/// It sits outside ``ErrorResponseMiddleware`` so that it sees the status actually answered,
/// and inside ``AuthenticationMiddleware``, which established the request's ``Caller``.
public struct AuditMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    /// A record names at most this many query parameters, each cut to this many characters.
    static let maximumRecordedParameters = 64
    static let maximumRecordedParameterLength = 64
    let writer: AuditWriter
    /// False only in benchmarks that measure what recording costs (`audit.record_reads`).
    let recordReads: Bool

    public init(writer: AuditWriter, recordReads: Bool = true) {
        self.writer = writer
        self.recordReads = recordReads
    }

    public func handle(
        _ request: Request,
        context: HubRequestContext,
        next: (Request, HubRequestContext) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard ProtectedAPI.contains(path) else { return try await next(request, context) }
        let response = try await next(request, context)
        guard self.recordReads else { return response }
        let records = Self.records(request: request, context: context, status: Int(response.status.code))
        guard !records.isEmpty else { return response }
        do {
            try await self.writer.write(records)
        } catch {
            context.logger.error("audit trail unavailable; request refused", metadata: ["error": "\(error)"])
            return ErrorResponseMiddleware.response(
                for: .unavailable("the audit trail cannot be written; retry later"),
                fhir: path.hasPrefix("/fhir")
            )
        }
        return response
    }

    static func records(request: Request, context: HubRequestContext, status: Int) -> [AuditRecord] {
        let state = context.audit.state.withLock { $0 }
        var (interaction, action) = state.interaction.map { ($0, state.action ?? .read) } ?? Self.interaction(of: request)
        // The patients it aimed at: named in its path, or noted by the store on its way.
        var targets = context.audit.targets.noted
        // (Only for a caller who proved who it is: an anonymous request naming a patient's id
        // must not be able to fill that patient's history.)
        if context.grant != nil, let patient = Self.patient(inPath: request.uri.path), !targets.contains(patient) { targets.insert(patient, at: 0) }
        if state.recordedByStore, status < 400 {
            // The writes are recorded already; what remains is what the request read (a
            // Bundle's GET entries) and the patients it aimed at that no record names yet (a
            // batch entry refused), if anything.
            targets = context.audit.targets.uncovered
            guard !state.returned.isEmpty || !targets.isEmpty else { return [] }
            if !state.returned.isEmpty { action = .read }
        }
        // The names asked for, each once and bounded: what the request tried, never a way to
        // make a record large (a search takes at most 40 parameters; more are refused).
        var parameters: [String] = []
        var seen: Set<Substring> = []
        for (name, _) in request.uri.queryParameters where seen.insert(name).inserted {
            guard parameters.count < Self.maximumRecordedParameters else { break }
            parameters.append(String(name.prefix(Self.maximumRecordedParameterLength)))
        }
        // The issue the request failed with, as the error middleware (or a handler whose answer
        // carries a refusal in a 200, like an HL7 v2 AE) noted it; for a failure answered
        // otherwise (none is expected), the issue type its status stands for.
        let issue = state.issue ?? (status < 400 ? nil : ErrorResponseMiddleware.issueType(for: .init(code: status)))
        let outcome = issue != nil && status < 400 ? AuditRecord.Outcome.minorFailure : AuditRecord.Outcome(status: status)
        var caller = context.caller
        if let purpose = state.purpose { caller.purposeOfUse = purpose }
        return AuditRecord.records(
            of: status < 400 ? state.returned : [],
            action: action,
            interaction: interaction,
            outcome: outcome,
            issue: issue,
            status: status,
            caller: caller,
            resourceType: state.resourceType ?? Self.resourceType(of: request.uri.path),
            parameters: parameters.sorted(),
            targets: targets
        )
    }

    /// The Patient a `/fhir/Patient/<id>…` path addresses (also when the request is refused
    /// before the store sees it, by scopes).
    static func patient(inPath path: String) -> String? {
        let segments = path.split(separator: "/")
        guard segments.count >= 3, segments[0] == "fhir", segments[1] == "Patient", FHIRPrimitive.isID(String(segments[2])) else { return nil }
        return String(segments[2])
    }

    /// For requests that failed before a handler said what they were.
    static func interaction(of request: Request) -> (String, AuditRecord.Action) {
        let segments = request.uri.path.split(separator: "/")
        switch request.method {
        case .get: return (segments.count >= 3 ? "read" : "search-type", .read)
        case .post: return (segments.count <= 1 ? "transaction" : "create", segments.count <= 1 ? .execute : .create)
        case .put: return ("update", .update)
        case .patch: return ("patch", .update)
        case .delete: return ("delete", .delete)
        default: return (request.method.rawValue.lowercased(), .execute)
        }
    }

    static func resourceType(of path: String) -> String? {
        let segments = path.split(separator: "/")
        guard segments.count >= 2, segments[0] == "fhir", let type = ResourceType(rawValue: String(segments[1])) else { return nil }
        return type.rawValue
    }
}
