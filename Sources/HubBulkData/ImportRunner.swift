import Foundation
import HubAudit
import HubBulkDataCore
import HubFHIR
public import HubResources
public import HubResourcesCore
import HubStorage
public import Logging
public import ServiceLifecycle

/// Runs import jobs (a service of every hub; several hubs share the queue by leases): takes a
/// job and writes its inputs a batch of lines at a time through the asking organization's
/// access. Each batch — its resources, their audit records, its refused lines' OperationOutcomes
/// and the cursor after it — commits in one transaction, so a hub that stops or crashes mid-job
/// leaves it at its last committed batch, from where the next runner goes on; and since the
/// import's ids are a function of the lines (``ImportIdentity``), a line written twice (an input
/// sent again) is skipped, not duplicated.
public struct ImportRunner: Service {
    public struct Settings: Sendable {
        /// How often the queue is looked at when idle.
        public var pollInterval: Duration
        /// How long a runner holds a job without committing a batch before another may take it.
        public var lease: Duration
        /// How long a finished job's status and error lines stay.
        public var lifetime: Duration
        /// Attempts (claims) before a job is given up as failed.
        public var maximumAttempts = 5
        /// Lines per batch (one transaction).
        public var batchSize = 1_000
        /// Batches a runner writes before it gives the job back to the queue, so that one
        /// client's long migration does not hold every other client's import up (the job goes
        /// behind those queued; nil: to the end).
        public var batchesPerClaim: Int? = 50

        public init(pollInterval: Duration, lease: Duration, lifetime: Duration) {
            self.pollInterval = pollInterval
            self.lease = lease
            self.lifetime = lifetime
        }
    }

    let jobs: ImportJobStore
    let store: PostgresResourceStore
    let validator: ResourceValidator
    let settings: Settings
    let logger: Logger
    /// This runner's name in leases.
    let owner = "runner-" + UUID().uuidString.lowercased()

    public init(jobs: ImportJobStore, store: PostgresResourceStore, validator: ResourceValidator, settings: Settings, logger: Logger) {
        self.jobs = jobs
        self.store = store
        self.validator = validator
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        await QueueLoop(pollInterval: self.settings.pollInterval, failure: "import round failed; will retry", logger: self.logger).run(
            housekeeping: { try await self.jobs.purgeExpired() },
            next: { try await self.runOne() })
    }

    /// Takes one job and runs it as far as it goes; false when none was due.
    @discardableResult
    public func runOne() async throws -> Bool {
        guard let job = try await self.jobs.claim(owner: self.owner, lease: self.settings.lease) else { return false }
        // Taken once too often without finishing (runners that crashed or stalled past the lease
        // on it): given up rather than tried for ever.
        if job.attempts > self.settings.maximumAttempts {
            try await self.jobs.finish(
                job, owner: self.owner, error: "the import was begun \(job.attempts - 1) times without finishing; what it wrote stays",
                lifetime: self.settings.lifetime)
            return true
        }
        do {
            try await self.run(job)
        } catch {
            // A batch that failed (the database, a key) is tried again from the committed cursor
            // once the lease ends; after the attempts, the job fails.
            var log = self.logger
            log[metadataKey: "import"] = "\(job.id)"
            log.warning("import batch failed; the job resumes after its lease", metadata: ["error": "\(error)"])
            if job.attempts >= self.settings.maximumAttempts {
                try await self.jobs.finish(
                    job, owner: self.owner, error: "the import failed \(job.attempts) times; what it wrote stays, ask for the rest again",
                    lifetime: self.settings.lifetime)
            }
        }
        return true
    }

    func run(_ job: ImportJobStore.Job) async throws {
        guard let access = job.description.access, let organization = job.description.caller.organization else {
            try await self.jobs.finish(job, owner: self.owner, error: "the import has no organization to write for", lifetime: self.settings.lifetime)
            return
        }
        try await self.jobs.prepareKey(of: job)
        let identity = ImportIdentity(organization: organization, key: try await self.store.importKey(organization: organization))
        let order = job.description.request.processingOrder
        let audit = AuditContext(caller: job.description.caller, interaction: "import")
        var cursor = job.cursor
        var written = 0
        while cursor.input < order.count {
            if let limit = self.settings.batchesPerClaim, written >= limit {
                try await self.jobs.release(job, owner: self.owner)
                return
            }
            guard let bytes = try await self.jobs.input(of: job, at: cursor.input) else { break }
            let reader = ImportLineReader(validator: self.validator, identity: identity, type: order[cursor.input].type)
            // Refusals name the input by its place in the kick-off, as the client listed it.
            let position = job.description.request.inputs.firstIndex(of: order[cursor.input]) ?? cursor.input
            let lines = ImportLineReader.lines(bytes).filter { $0.number > cursor.line }
            let batches = stride(from: 0, to: max(lines.count, 1), by: self.settings.batchSize).map {
                lines[$0..<min(lines.count, $0 + self.settings.batchSize)]
            }
            // Each batch is prepared (parsed, validated, sealed, indexed) while the one before it
            // commits: the hub's work and the database's overlap.
            var next: Task<PreparedBatch, any Error>?
            defer { next?.cancel() }
            // Before leaving early: the batch being prepared is not wanted any more.
            func settle() async {
                next?.cancel()
                _ = try? await next?.value
                next = nil
            }
            for (number, batch) in batches.enumerated() {
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    await settle()
                    try? await self.jobs.release(job, owner: self.owner)
                    return
                }
                if let limit = self.settings.batchesPerClaim, written >= limit {
                    await settle()
                    try await self.jobs.release(job, owner: self.owner)
                    return
                }
                guard try await self.jobs.clientIsActive(job) else {
                    await settle()
                    try await self.jobs.finish(
                        job, owner: self.owner, error: "the client that asked was deactivated; what it wrote before stays",
                        lifetime: self.settings.lifetime)
                    return
                }
                written += 1
                let prepared: PreparedBatch
                if let pending = next {
                    prepared = try await pending.value
                } else {
                    prepared = try await self.prepare(batch, reader: reader, position: position, access: access, audit: audit)
                }
                next = nil
                if number + 1 < batches.count, self.settings.batchesPerClaim.map({ written < $0 }) ?? true {
                    let (following, runner) = (batches[number + 1], self)
                    next = Task { try await runner.prepare(following, reader: reader, position: position, access: access, audit: audit) }
                }
                let to =
                    number + 1 < batches.count
                    ? ImportJobStore.Cursor(input: cursor.input, line: batch.last?.number ?? cursor.line)
                    : ImportJobStore.Cursor(input: cursor.input + 1, line: 0)
                do {
                    try await self.commit(prepared, job: job, from: cursor, to: to)
                } catch is ImportJobStore.LeaseLost {
                    // Deleted by its client, or taken over after this runner stalled past its lease.
                    await settle()
                    return
                } catch let throttled as PostgresResourceStore.ImportThrottled {
                    // Its attempts at Patients registered elsewhere are spent: it waits, then goes on
                    // from this batch.
                    await settle()
                    try await self.jobs.postpone(job, owner: self.owner, seconds: throttled.retryAfterSeconds)
                    return
                }
                cursor = to
            }
        }
        try await self.jobs.finish(job, owner: self.owner, error: nil, lifetime: self.settings.lifetime)
    }

    /// A batch's lines read and prepared, with the lines refused on the way.
    struct PreparedBatch: Sendable {
        var prepared: PostgresResourceStore.PreparedImport
        /// The input's place in the kick-off, and its type.
        var position: Int
        var type: ResourceType
        var numbers: [Int]
        var refusals: [ImportRefusal]
    }

    /// One batch's lines read (parsed, validated, namespaced) and prepared by the store, the
    /// lines shared between two tasks.
    func prepare(
        _ batch: ArraySlice<(number: Int, text: ArraySlice<UInt8>)>, reader: ImportLineReader, position: Int, access: RecordAccess,
        audit: AuditContext
    ) async throws -> PreparedBatch {
        let lines = Array(batch)
        let half = (lines.count + 1) / 2
        let ranges = lines.count < 2 ? [0..<lines.count] : [0..<half, half..<lines.count]
        let read = await withTaskGroup(of: (Int, [Result<WriteOperation, ResourceError>]).self) { group in
            for (part, range) in ranges.enumerated() {
                let slice = lines[range]
                group.addTask { (part, slice.map { reader.write($0.text) }) }
            }
            var parts: [(Int, [Result<WriteOperation, ResourceError>])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        var operations: [WriteOperation] = []
        var numbers: [Int] = []
        var refusals: [ImportRefusal] = []
        for (line, result) in zip(lines, read) {
            switch result {
            case .success(let operation):
                operations.append(operation)
                numbers.append(line.number)
            case .failure(let error):
                refusals.append(ImportRefusal(input: position, type: reader.type, line: line.number, error: error))
            }
        }
        let prepared = try await self.store.prepareImport(operations, access: access, audit: audit)
        return PreparedBatch(prepared: prepared, position: position, type: reader.type, numbers: numbers, refusals: refusals)
    }

    /// Writes a prepared batch and commits it with the cursor after it.
    func commit(_ batch: PreparedBatch, job: ImportJobStore.Job, from: ImportJobStore.Cursor, to: ImportJobStore.Cursor) async throws {
        let (jobs, owner, lease) = (self.jobs, self.owner, self.settings.lease)
        let (numbers, read, position, type) = (batch.numbers, batch.refusals, batch.position, batch.type)
        _ = try await self.store.commitImport(batch.prepared) { connection, imported in
            let refused = imported.refused.map { refusal in
                ImportRefusal(input: position, type: type, line: numbers[refusal.index], error: refusal.error)
            }
            try await jobs.commitBatch(
                on: connection, job: job, owner: owner, lease: lease, from: from, to: to, created: imported.created.count,
                skipped: imported.skipped.count, refusals: read + refused)
        }
    }
}
