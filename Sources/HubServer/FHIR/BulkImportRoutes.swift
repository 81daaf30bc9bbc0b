import Foundation
import HTTPTypes
import HubAccess
import HubAudit
public import HubBulkData
import HubBulkDataCore
import HubFHIR
import HubResources
public import Hummingbird
import NIOCore

/// FHIR Bulk Data import, for hospital systems migrating their records into the hub
/// (docs/bulk-data.md, "Import"):
///
/// - stage `POST /fhir/$import-input` with NDJSON (`application/fhir+ndjson`, at most
///   `server.max_body_bytes` a piece) → 201 and `Location` of the staged input;
/// - kick-off `POST /fhir/$import` with `Prefer: respond-async` and a `Parameters` body naming
///   staged inputs and their types → 202 and `Content-Location` of the job's status; a second
///   job while one runs → 429;
/// - status `GET /fhir/$import-poll-status/{job}` → 202 with `X-Progress` and `Retry-After`
///   while it runs, 200 with the manifest when done, an OperationOutcome when it failed;
/// - error file `GET /fhir/$import-poll-status/{job}/errors.ndjson` → one OperationOutcome per
///   refused line;
/// - `DELETE /fhir/$import-poll-status/{job}` → 202: stopped (what it wrote stays).
///
/// Inputs and jobs are the asking client's alone: to any other caller they are 404.
public struct BulkImportRoutes: Sendable {
    let jobs: ImportJobStore
    /// How long a staged input waits for a kick-off.
    let inputLifetime: Duration
    /// What `Retry-After` tells a client polling a running job.
    let retryAfterSeconds: Int

    public init(jobs: ImportJobStore, inputLifetime: Duration, retryAfterSeconds: Int) {
        self.jobs = jobs
        self.inputLifetime = inputLifetime
        self.retryAfterSeconds = retryAfterSeconds
    }

    static let ndjsonTypes: Set = ["application/fhir+ndjson", "application/ndjson", "application/x-ndjson"]

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.post("$import-input") { request, context in
            try await self.stage(request, context)
        }
        group.post("$import") { request, context in
            try await self.kickOff(request, context)
        }
        group.get("$import-poll-status/:job") { request, context in
            context.audit.interaction("operation", action: .read)
            return try await self.status(try await self.job(context), request: request)
        }
        group.get("$import-poll-status/:job/errors.ndjson") { _, context in
            context.audit.interaction("operation", action: .read)
            let job = try await self.job(context)
            guard job.state == .completed || job.state == .failed else { throw APIError.notFound("the error file is written when the import ends") }
            let (jobs, batches) = (self.jobs, try await self.jobs.outcomeBatches(of: job))
            let body = ResponseBody { writer in
                for batch in batches { try await writer.write(ByteBuffer(bytes: try await jobs.outcomes(of: job, at: batch))) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: BulkExportRoutes.ndjson], body: body)
        }
        group.delete("$import-poll-status/:job") { _, context in
            context.audit.interaction("operation", action: .delete)
            let (id, grant) = try Self.jobAndGrant(context)
            guard try await self.jobs.delete(id, principal: grant.principal, organization: grant.organization) else { throw Self.noSuchJob }
            return Response(status: .accepted)
        }
    }

    /// The grant of a hospital system acting for its organization, allowed to write: imports
    /// are theirs alone (not a clinician's, not under break-glass, not a read-only exporter's).
    static func importer(_ context: HubRequestContext, _ what: String) throws -> AccessGrant {
        guard let grant = context.grant, grant.role == .system, grant.user == nil, grant.emergency == nil else {
            throw APIError(
                .forbidden, code: .forbidden,
                diagnostics: "\(what) is for hospital systems acting for their organization (not for a clinician, nor under break-glass)")
        }
        let access = try context.recordAccess(nil, write: true)
        try access.requireWriter()
        guard ImportIdentity.importableTypes.contains(where: { access.permits($0, write: true) }) else {
            throw APIError(.forbidden, code: .forbidden, diagnostics: "\(what) needs a scope that writes records (system/*.write)")
        }
        return grant
    }

    // MARK: Staging

    func stage(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        context.audit.interaction("operation", action: .create)
        let grant = try Self.importer(context, "$import-input")
        let contentType = request.headers[.contentType]?.lowercased().split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let contentType, Self.ndjsonTypes.contains(contentType) else {
            throw APIError(
                .unsupportedMediaType, code: .notSupported,
                diagnostics: "stage NDJSON as application/fhir+ndjson (Content-Type was \(contentType ?? "missing"))")
        }
        // BodyLimitMiddleware has already collected the body within the configured limit.
        var request = request
        let body = Array(buffer: try await request.collectBody(upTo: .max))
        guard String(validating: body, as: UTF8.self) != nil else { throw APIError.badRequest("the NDJSON is not valid UTF-8") }
        let lines = ImportLineReader.count(body)
        guard lines > 0 else { throw APIError.badRequest("the NDJSON has no lines") }
        guard
            let id = try await self.jobs.stage(
                body, lines: lines, principal: grant.principal, organization: grant.organization, lifetime: self.inputLifetime)
        else {
            throw APIError(
                .contentTooLarge, code: .tooCostly,
                diagnostics:
                    "this client has \(self.jobs.maximumStagedBytes) bytes staged and not yet imported: import them first (unused pieces expire)"
            )
        }
        var headers = HTTPFields()
        headers[.location] = "\(FHIRResourceRoutes.base(request))/$import-input/\(id)"
        let outcome = OperationOutcome(
            severity: .information, code: .informational, diagnostics: "staged \(lines) lines; name the Location as an input of $import")
        return Response.json(outcome, status: .created, contentType: HubMediaType.fhirJSON, headers: headers)
    }

    // MARK: Kick-off

    func kickOff(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        context.audit.interaction("operation", action: .execute)
        let grant = try Self.importer(context, "$import")
        try BulkDataJobRequest.requireAsync(request, operation: "$import")
        let access = try context.recordAccess(nil, write: true)
        let importRequest = try ImportRequest(parameters: try await FHIRFormat.body(of: request), writable: access.writableTypes)
        let url = "https://\(request.head.authority ?? "localhost")\(request.uri.path)"
        let description = ImportJobDescription(
            request: importRequest, requestURL: url, caller: context.caller, writableTypes: access.writableTypes)
        switch try await self.jobs.kickOff(description, principal: grant.principal, organization: grant.organization) {
        case .queued(let id):
            var headers = HTTPFields()
            headers[.contentLocation] = "\(FHIRResourceRoutes.base(request))/$import-poll-status/\(id)"
            let outcome = OperationOutcome(severity: .information, code: .informational, diagnostics: "import queued; poll the Content-Location")
            return Response.json(outcome, status: .accepted, contentType: HubMediaType.fhirJSON, headers: headers)
        case .busy:
            var headers = HTTPFields()
            headers[.retryAfter] = String(self.retryAfterSeconds)
            throw APIError(
                .tooManyRequests, code: .throttled,
                diagnostics: "this client already has an import in progress: wait for it, or cancel it (DELETE its status URL)", headers: headers)
        case .unknownInput:
            throw APIError.badRequest("an input is not NDJSON this client staged (or it expired, or another import took it)")
        }
    }

    // MARK: Status

    func status(_ job: ImportJobStore.Job, request: Request) async throws -> Response {
        switch job.state {
        case .queued, .running:
            var headers = HTTPFields()
            headers[.retryAfter] = String(self.retryAfterSeconds)
            let done = job.created + job.skipped + job.refused
            headers[BulkExportRoutes.progress] = job.state == .queued ? "queued" : "\(done) of \(job.lines) lines"
            return Response(status: .accepted, headers: headers)
        case .failed:
            throw APIError(.internalServerError, code: .exception, diagnostics: job.error ?? "the import failed")
        case .completed:
            let base = FHIRResourceRoutes.base(request)
            var manifest = JSONObject([
                ("transactionTime", .string(UTCTime(job.createdAt).timestampLiteral)),
                ("request", .string(job.description.requestURL)),
                ("requiresAccessToken", .bool(true)),
                ("created", .number("\(job.created)")),
                ("skipped", .number("\(job.skipped)")),
                ("refused", .number("\(job.refused)")),
                (
                    "output",
                    .array(
                        job.description.request.inputs.map { input in
                            .object(
                                JSONObject([
                                    ("type", .string(input.type.rawValue)), ("inputUrl", .string("\(base)/$import-input/\(input.inputID)")),
                                ]))
                        })
                ),
            ])
            manifest["error"] = .array(
                job.refused == 0
                    ? []
                    : [
                        .object(
                            JSONObject([
                                ("type", .string("OperationOutcome")),
                                ("count", .number("\(min(job.refused, ImportJobStore.maximumErrorLines))")),
                                ("url", .string("\(base)/$import-poll-status/\(job.id)/errors.ndjson")),
                            ]))
                    ])
            var headers = HTTPFields()
            if let expires = job.expiresAt { headers[.expires] = UTCTime(expires).httpDate }
            headers[.contentType] = HubMediaType.json
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(manifest).serialized())))
        }
    }

    // MARK: Jobs

    static let noSuchJob = APIError.notFound("no such import job (or not this client's)")

    func job(_ context: HubRequestContext) async throws -> ImportJobStore.Job {
        let (id, grant) = try Self.jobAndGrant(context)
        guard let job = try await self.jobs.job(id, principal: grant.principal, organization: grant.organization) else { throw Self.noSuchJob }
        return job
    }

    static func jobAndGrant(_ context: HubRequestContext) throws -> (String, AccessGrant) {
        try BulkDataJobRequest.jobAndGrant(context, noSuchJob: Self.noSuchJob)
    }
}
