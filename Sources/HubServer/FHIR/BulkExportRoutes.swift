import Foundation
import HTTPTypes
public import HubAccess
import HubAudit
public import HubBulkData
import HubBulkDataCore
import HubFHIR
public import HubResources
public import Hummingbird
import NIOCore

/// FHIR Bulk Data export (Bulk Data Access IG v2), for hospital systems acting for their
/// organization (docs/bulk-data.md):
///
/// - kick-off `GET /fhir/$export` (every resource the caller may see),
///   `GET /fhir/Patient/$export` (those in patients' compartments) and
///   `GET /fhir/Group/{id}/$export` (those of the Group's member patients), with `Prefer: respond-async`
///   → 202 and `Content-Location` of the job's status; a second job while one runs → 429;
/// - status `GET /fhir/$export-status/{job}` → 202 with `X-Progress` and `Retry-After` while it
///   runs, 200 with the manifest when done, an OperationOutcome when it failed;
/// - `DELETE /fhir/$export-status/{job}` → 202: cancelled, or its files deleted;
/// - files `GET /fhir/$export-file/{job}/{Type}-{n}.ndjson` → NDJSON, audited with every
///   patient whose records the file holds.
///
/// A job is the asking client's alone: to any other caller its status and files are 404.
public struct BulkExportRoutes: Sendable {
    let jobs: ExportJobStore
    /// Where a Group-level export's Group is read.
    let store: any ResourceStore
    /// Where the commission's population export grants are.
    let directory: IdentityDirectory
    /// What `Retry-After` tells a client polling a running job.
    let retryAfterSeconds: Int

    public init(jobs: ExportJobStore, store: any ResourceStore, directory: IdentityDirectory, retryAfterSeconds: Int) {
        self.jobs = jobs
        self.store = store
        self.directory = directory
        self.retryAfterSeconds = retryAfterSeconds
    }

    static let ndjson = "application/fhir+ndjson"
    static let progress = HTTPField.Name("X-Progress")!

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.get("$export") { request, context in
            try await self.kickOff(request, context, level: .system)
        }
        // A parameter, not the literal "Patient" (see PatientMatchOperation).
        group.get(":type/$export") { request, context in
            guard try FHIRResourceRoutes.type(context) == .patient else {
                throw APIError(.notFound, code: .notSupported, diagnostics: "$export is offered at the system level, for Patient and for a Group")
            }
            return try await self.kickOff(request, context, level: .patient)
        }
        group.get(":type/:id/$export") { request, context in
            guard try FHIRResourceRoutes.type(context) == .group else {
                throw APIError(.notFound, code: .notSupported, diagnostics: "$export is offered at the system level, for Patient and for a Group")
            }
            return try await self.kickOff(request, context, level: .group, group: try FHIRResourceRoutes.id(context))
        }
        group.get("$export-status/:job") { request, context in
            context.audit.interaction("operation", action: .read)
            let job = try await self.job(context)
            return try await self.status(job, request: request)
        }
        group.delete("$export-status/:job") { _, context in
            context.audit.interaction("operation", action: .delete)
            let (id, grant) = try Self.jobAndGrant(context)
            guard try await self.jobs.delete(id, principal: grant.principal, organization: grant.organization) else { throw Self.noSuchJob }
            return Response(status: .accepted)
        }
        group.get("$export-file/:job/:file") { _, context in
            try await self.file(context)
        }
    }

    // MARK: Kick-off

    /// - Parameter group: A Group-level export's Group id.
    func kickOff(_ request: Request, _ context: HubRequestContext, level: ExportRequest.Level, group: String? = nil) async throws -> Response {
        let levelType: ResourceType? =
            switch level {
            case .system: nil
            case .patient: .patient
            case .group: .group
            }
        context.audit.interaction("operation", action: .execute, type: levelType?.rawValue)
        guard let grant = context.grant, grant.role == .system, grant.user == nil, grant.emergency == nil else {
            throw APIError(
                .forbidden, code: .forbidden,
                diagnostics: "$export is for hospital systems acting for their organization (not for a clinician, nor under break-glass)")
        }
        try BulkDataJobRequest.requireAsync(request, operation: "$export")
        let access = try context.recordAccess(nil)
        let query = request.uri.query ?? ""
        var exportRequest = try ExportRequest(level: level, query: query, readable: access.readableTypes)
        if let group {
            // Read as any read of it (Groups are private to their writer: another hospital's is
            // 404), and its members taken as they are now — the job's instant.
            let stored = try await self.store.read(.group, id: group, access: try context.recordAccess(.group))
            context.audit.returned([stored])
            guard let resource = stored.resource else { throw ResourceError(.gone, .deleted, "Group/\(group) was deleted") }
            let cohort = try ExportCohort(group: resource, id: group, at: Date())
            // The members are what the export aims at: each one's access history holds the
            // kick-off, seen or not (the pages name those whose records were read).
            context.audit.targets.note(cohort.patients)
            exportRequest.cohort = cohort
        }
        // Patients a _typeFilter names are in their access history, as a search's are.
        context.audit.targets.note(try exportRequest.filterQueries().values.flatMap { $0.flatMap(\.namedPatients) })
        let url = "https://\(request.head.authority ?? "localhost")\(request.uri.path)" + (query.isEmpty ? "" : "?\(query)")
        // An organization the commission granted a population export (the health data center)
        // exports under it, for the grant's purpose; any other, what it may see itself.
        var caller = context.caller
        let population = try await self.directory.activePopulationExportGrant(organization: grant.organization, client: grant.principal)
        if let population {
            // Under a grant a system reads, and only reads: one that may also write could register
            // the patients it exported and keep their records after the grant ends.
            guard grant.scopes.allSatisfy({ !$0.write }) else {
                throw APIError(
                    .forbidden, code: .forbidden, diagnostics: "a system exporting under a population grant holds read scopes only (system/*.read)")
            }
            caller.purposeOfUse = population.purpose
            context.audit.purpose(population.purpose)
        }
        let description = ExportJobDescription(
            request: exportRequest, requestURL: url, caller: caller, readableTypes: access.readableTypes, populationGrant: population?.id)
        guard
            let (id, _) = try await self.jobs.kickOff(
                description, principal: grant.principal, organization: grant.organization, populationGrant: population?.id)
        else {
            var headers = HTTPFields()
            headers[.retryAfter] = String(self.retryAfterSeconds)
            throw APIError(
                .tooManyRequests, code: .throttled,
                diagnostics: "this client already has an export in progress: wait for it, or cancel it (DELETE its status URL)", headers: headers)
        }
        var headers = HTTPFields()
        headers[.contentLocation] = "\(FHIRResourceRoutes.base(request))/$export-status/\(id)"
        let outcome = OperationOutcome(severity: .information, code: .informational, diagnostics: "export queued; poll the Content-Location")
        return Response.json(outcome, status: .accepted, contentType: HubMediaType.fhirJSON, headers: headers)
    }

    // MARK: Status

    func status(_ job: ExportJobStore.Job, request: Request) async throws -> Response {
        let base = FHIRResourceRoutes.base(request)
        switch job.state {
        case .queued, .running:
            var headers = HTTPFields()
            headers[.retryAfter] = String(self.retryAfterSeconds)
            let plan = ExportPlan(types: job.description.request.types)
            headers[Self.progress] = job.state == .queued ? "queued" : plan.progress(at: job.cursor, exported: job.exported)
            return Response(status: .accepted, headers: headers)
        case .failed:
            throw APIError(.internalServerError, code: .exception, diagnostics: job.error ?? "the export failed")
        case .completed:
            let files = try await self.jobs.files(of: job)
            let manifest = ExportManifest(transactionTime: job.transactionTime, request: job.description.requestURL, files: files)
            var headers = HTTPFields()
            if let expires = job.expiresAt { headers[.expires] = UTCTime(expires).httpDate }
            let body = manifest.json(fileBase: "\(base)/$export-file/\(job.id)").serialized()
            headers[.contentType] = HubMediaType.json
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    // MARK: Files

    func file(_ context: HubRequestContext) async throws -> Response {
        context.audit.interaction("operation", action: .read)
        let job = try await self.job(context)
        guard job.state == .completed, (job.expiresAt ?? .distantFuture) > Date(),
            let name = context.parameters.get("file"), let file = ExportManifest.File(name: name)
        else { throw Self.noSuchFile }
        context.audit.interaction("operation", action: .read, type: file.type.rawValue)
        // Read under a population grant: downloaded for the grant's purpose.
        if job.description.populationGrant != nil { context.audit.purpose(job.description.caller.purposeOfUse) }
        // The credentials of this download must still read the type (a narrower token of the
        // same client may not).
        _ = try context.recordAccess(file.type)
        let parts = try await self.jobs.parts(of: job, file: file)
        guard !parts.isEmpty else { throw Self.noSuchFile }
        // Every patient whose records leave in this file is in the audit trail, committed before
        // the first byte leaves (AuditMiddleware).
        context.audit.targets.note(parts.flatMap(\.patients))
        let jobs = self.jobs
        let body = ResponseBody { writer in
            for (part, _) in parts {
                try await writer.write(ByteBuffer(bytes: try await jobs.body(of: job, file: file, part: part)))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: Self.ndjson], body: body)
    }

    // MARK: Jobs

    static let noSuchJob = APIError.notFound("no such export job (or not this client's)")
    static let noSuchFile = APIError.notFound("no such export file (or expired, or not this client's)")

    func job(_ context: HubRequestContext) async throws -> ExportJobStore.Job {
        let (id, grant) = try Self.jobAndGrant(context)
        guard let job = try await self.jobs.job(id, principal: grant.principal, organization: grant.organization) else { throw Self.noSuchJob }
        return job
    }

    static func jobAndGrant(_ context: HubRequestContext) throws -> (String, AccessGrant) {
        try BulkDataJobRequest.jobAndGrant(context, noSuchJob: Self.noSuchJob)
    }
}
