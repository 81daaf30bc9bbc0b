import Foundation
import HubAudit
import HubBulkDataCore
import HubFHIR
public import HubResources
import HubStorage
public import Logging
public import ServiceLifecycle

/// Runs export jobs (a service of every hub; several hubs share the queue by leases): takes a
/// job, reads it a page at a time through the asking organization's access, and commits each
/// page — sealed NDJSON, the cursor after it and the audit records naming every resource it
/// holds — in one transaction. A hub that stops or crashes mid-job leaves the job at its last
/// committed page, from where the next runner goes on.
public struct ExportRunner: Service {
    public struct Settings: Sendable {
        /// How often the queue is looked at when idle.
        public var pollInterval: Duration
        /// How long a runner holds a job without committing a page before another may take it.
        public var lease: Duration
        /// How long a finished job's files stay.
        public var fileLifetime: Duration
        /// How long after its transaction time a job waits at least: a version is stamped by its
        /// hub's clock before it is sealed and before its transaction starts; the store refuses a
        /// create older than two database deadlines when its connection is in hand, and the
        /// transaction has one more — so three deadlines, and a second.
        public var settleDelay: Duration
        /// How long at most it waits for transactions open when it was queued.
        public var settleLimit: Duration = .seconds(60)
        /// Attempts (claims) before a job is given up as failed.
        public var maximumAttempts = 5
        public var pageSize = ExportPlan.defaultPageSize
        public var fileSize = ExportPlan.defaultFileSize

        public init(pollInterval: Duration, lease: Duration, fileLifetime: Duration, settleDelay: Duration) {
            self.pollInterval = pollInterval
            self.lease = lease
            self.fileLifetime = fileLifetime
            self.settleDelay = settleDelay
        }
    }

    let jobs: ExportJobStore
    let store: PostgresResourceStore
    let settings: Settings
    let logger: Logger
    /// This runner's name in leases.
    let owner = "runner-" + UUID().uuidString.lowercased()

    public init(jobs: ExportJobStore, store: PostgresResourceStore, settings: Settings, logger: Logger) {
        self.jobs = jobs
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        // Database down or not migrated yet: the jobs stay where they are.
        await QueueLoop(pollInterval: self.settings.pollInterval, failure: "export round failed; will retry", logger: self.logger).run(
            housekeeping: { try await self.jobs.purgeExpired() },
            next: { try await self.runOne() })
    }

    /// Takes one job and runs it as far as it goes; false when none was due.
    @discardableResult
    public func runOne() async throws -> Bool {
        let settings = self.settings
        guard
            let job = try await self.jobs.claim(
                owner: self.owner, lease: settings.lease, settleDelay: settings.settleDelay, settleLimit: settings.settleLimit)
        else { return false }
        let log = self.logger.with(job: job.id)
        do {
            try await self.run(job)
        } catch {
            // A page that failed (the database, a key that would not open) is tried again from
            // the committed cursor once the lease ends; after the attempts, the job fails.
            log.warning("export page failed; the job resumes after its lease", metadata: ["error": "\(error)"])
            if job.attempts >= settings.maximumAttempts {
                try await self.jobs.finish(
                    job, owner: self.owner, error: "the export failed \(job.attempts) times; ask for it again", lifetime: settings.fileLifetime)
            }
        }
        return true
    }

    func run(_ job: ExportJobStore.Job) async throws {
        let request = job.description.request
        let settings = self.settings
        guard let access = job.description.access else {
            try await self.jobs.finish(job, owner: self.owner, error: "the export has no organization to read for", lifetime: settings.fileLifetime)
            return
        }
        let filters: [ResourceType: [SearchQuery]]
        do {
            filters = try request.filterQueries()
        } catch {
            // Not the diagnostics: they may quote the criteria, and the error column is in clear.
            try await self.jobs.finish(job, owner: self.owner, error: "a _typeFilter query could not be run", lifetime: settings.fileLifetime)
            return
        }
        let plan = ExportPlan(types: request.types, pageSize: settings.pageSize, fileSize: settings.fileSize)
        var cursor = job.cursor
        while true {
            if Task.isShuttingDownGracefully || Task.isCancelled {
                try? await self.jobs.release(job, owner: self.owner)
                return
            }
            guard case .read(let type, let afterID, let count, _, _) = plan.step(at: cursor) else {
                try await self.jobs.finish(job, owner: self.owner, error: nil, lifetime: settings.fileLifetime)
                return
            }
            let read = try await self.store.exportPage(
                type, asOf: job.transactionTime, since: request.since, patients: request.patients,
                filters: filters[type] ?? [], afterID: afterID, count: count, access: access)
            let resources = read.resources
            let next = plan.advance(cursor, read: read.examined, lastID: read.lastID)
            let page = resources.isEmpty ? nil : Self.page(type, resources)
            let records =
                resources.isEmpty
                ? []
                : AuditRecord.records(
                    of: resources, action: .read, interaction: "export", caller: job.description.caller, resourceType: type.rawValue,
                    parameters: request.parameterNames)
            switch try await self.jobs.commitPage(
                of: job, owner: self.owner, lease: settings.lease, from: cursor, to: next, page: page, audit: records)
            {
            case .committed:
                cursor = next
            case .leaseLost:
                // Deleted by its client, or taken over after this runner stalled past its lease.
                return
            case .patientErased:
                // Erased while the page was read: its records must not leave, nor this job keep
                // what it holds of them — asked again, the export leaves them out.
                try await self.jobs.finish(
                    job, owner: self.owner, error: "a patient's records were erased while this export ran; ask for it again",
                    lifetime: settings.fileLifetime, discardingFiles: true)
                return
            case .grantEnded:
                // Revoked or expired: what was written under it goes too.
                try await self.jobs.finish(
                    job, owner: self.owner, error: "the population export grant this export read under is no longer in force",
                    lifetime: settings.fileLifetime, discardingFiles: true)
                return
            }
        }
    }

    /// The NDJSON of `resources`: one compact JSON resource per line.
    static func page(_ type: ResourceType, _ resources: [StoredResource]) -> ExportPage {
        var bytes: [UInt8] = []
        var patients: [String] = []
        var seen: Set<String> = []
        for stored in resources {
            guard let resource = stored.resource else { continue }
            bytes += JSONValue.object(resource).serialized()
            bytes.append(UInt8(ascii: "\n"))
            if let patient = stored.patientID, seen.insert(patient).inserted { patients.append(patient) }
        }
        return ExportPage(type: type, ndjson: bytes, count: resources.count, patients: patients)
    }
}

extension Logger {
    fileprivate func with(job: String) -> Logger {
        var logger = self
        logger[metadataKey: "export"] = "\(job)"
        return logger
    }
}
