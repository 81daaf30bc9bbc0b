import Foundation
import HubFHIR
import HubOpenDataCore
public import HubResources
import HubStorage
public import Logging
import NIOPosix
public import ServiceLifecycle

/// Computes open-data releases (a service of every hub; hubs share the work by leases): takes an
/// approved dataset whose release is wanted, reads the records it covers as they stand —
/// through the store's one access relation, under ``RecordAccess/Rule/deidentifiedRelease(writtenBy:)``
/// — projects each to its dataset's dimensions, anonymizes the table and stores the release for
/// a regulator to review and publish.
///
/// Nothing identifying is kept past the projection: a patient becomes a number for counting
/// distinct patients, their record a row of finest values that the anonymizer generalizes.
public struct OpenDataRunner: Service {
    public struct Settings: Sendable {
        public var pollInterval: Duration
        public var lease: Duration
        /// The share (0–1) of patients that may be suppressed before a quasi-identifier is
        /// generalized further (`open_data.maximum_suppression_percent`).
        public var maximumSuppression: Double
        public var maximumAttempts = 3
        public var pageSize = 1_000

        public init(pollInterval: Duration, lease: Duration, maximumSuppression: Double) {
            self.pollInterval = pollInterval
            self.lease = lease
            self.maximumSuppression = maximumSuppression
        }
    }

    let datasets: OpenDatasetStore
    let records: PostgresResourceStore
    let settings: Settings
    let logger: Logger
    let owner = "open-data-" + UUID().uuidString.lowercased()

    public init(datasets: OpenDatasetStore, records: PostgresResourceStore, settings: Settings, logger: Logger) {
        self.datasets = datasets
        self.records = records
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        await QueueLoop(pollInterval: self.settings.pollInterval, failure: "open data round failed; will retry", logger: self.logger).run {
            try await self.runOne()
        }
    }

    /// Computes one wanted release; false when none was wanted.
    @discardableResult
    public func runOne() async throws -> Bool {
        let settings = self.settings
        guard var claim = try await self.datasets.claim(owner: self.owner, lease: settings.lease, maximumAttempts: settings.maximumAttempts)
        else { return false }
        // The hub's minimum now, should it have been raised since the definition.
        claim.definition.k = max(claim.definition.k ?? 0, self.datasets.minimumK)
        do {
            let asOf = Date()
            // Anonymizing takes a while on a large table: the lease is renewed before it starts.
            guard let (table, patients) = try await self.table(for: claim, asOf: asOf),
                try await self.datasets.renew(claim, owner: self.owner, lease: settings.lease)
            else {
                self.logger.warning(
                    "open data release abandoned: its lease was lost (withdrawn, or taken over)", metadata: ["dataset": "\(claim.id)"])
                return true
            }
            let definition = claim.definition
            let anonymizer = Anonymizer(k: definition.k ?? self.datasets.minimumK, maximumSuppression: settings.maximumSuppression)
            // Sorting a million rows is seconds of CPU: off the tasks' threads, which serve requests.
            let anonymized = try await self.keepingLease(of: claim) {
                try await NIOThreadPool.singleton.runIfActive {
                    try Self.anonymize(table, definition: definition, with: anonymizer)
                }
            }
            if let release = try await self.datasets.store(anonymized, for: claim, recordsAsOf: asOf, patients: patients, owner: self.owner) {
                self.logger.info(
                    "open data release computed",
                    metadata: ["dataset": "\(claim.id)", "release": "\(release.number)", "rows": "\(release.rows.count)"])
            } else {
                self.logger.warning(
                    "open data release discarded: its lease was lost (withdrawn, or taken over)", metadata: ["dataset": "\(claim.id)"])
            }
        } catch {
            // The reason in the table is ours, never a record's content.
            self.logger.warning("open data release failed", metadata: ["dataset": "\(claim.id)", "error": "\(error)"])
            // A table that cannot be anonymized will not become one by trying again: given up at once.
            let anonymization = error as? AnonymizationError
            let reason = anonymization?.description ?? "the release could not be computed; it is tried again"
            try await self.datasets.fail(
                claim, owner: self.owner, error: reason, maximumAttempts: anonymization == nil ? settings.maximumAttempts : 1)
        }
        return true
    }

    /// Runs `body` while renewing the claim's lease every third of it, so that a long computation
    /// is not taken over by another hub.
    func keepingLease<Result: Sendable>(of claim: OpenDatasetStore.Claim, _ body: @escaping @Sendable () async throws -> Result) async throws
        -> Result
    {
        let (datasets, owner, lease) = (self.datasets, self.owner, self.settings.lease)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: lease / 3)
                    _ = try await datasets.renew(claim, owner: owner, lease: lease)
                }
                return nil
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let result = finished { return result }
            }
            throw CancellationError()
        }
    }

    /// The definition's form and protection applied to `table`.
    static func anonymize(_ table: RecordTable, definition: DatasetDefinition, with anonymizer: Anonymizer) throws -> AnonymizedTable {
        let months = definition.from.flatMap { from in definition.to.map { from...$0 } }
        switch (definition.form, definition.epsilon) {
        case (.aggregate, let epsilon?):
            let bound = definition.contributionBound ?? 1
            guard let noise = LaplaceMechanism(epsilon: epsilon, sensitivity: Double(bound)) else {
                throw AnonymizationError("epsilon \(epsilon) is not a positive number")
            }
            // The system's generator: noise an observer could predict protects nothing.
            var generator = SystemRandomNumberGenerator()
            return try anonymizer.aggregate(table, months: months, noise: noise, contributionBound: bound, using: &generator)
        case (.aggregate, nil):
            return try anonymizer.aggregate(table, months: months)
        case (.extract, _):
            return try anonymizer.extract(table)
        }
    }

    /// The dataset's rows at their finest, and how many patients they came from; nil when the
    /// lease was lost on the way.
    func table(for claim: OpenDatasetStore.Claim, asOf: Date) async throws -> (RecordTable, Int)? {
        let definition = claim.definition
        let day = CalendarDay(UTCTime(asOf).instant) ?? CalendarDay(year: 1970)
        var table = RecordTable(dimensions: definition.dimensions)
        // Patients first: every dataset describes its rows by their patient. A diagnosis written
        // by the hospital a dataset is about may be of a patient another registered.
        var patients: [String: (number: Int, facts: PatientFacts)] = [:]
        let patientAccess = RecordAccess(.deidentifiedRelease(writtenBy: definition.subject == .patients ? definition.organization : nil))
        guard
            try await self.pages(
                .patient, claim: claim, asOf: asOf, access: patientAccess,
                each: { stored in
                    guard let resource = stored.resource else { return }
                    let facts = RecordProjection.patient(resource)
                    let number = patients.count
                    patients[stored.id] = (number, facts)
                    if definition.subject == .patients {
                        try table.append(
                            patient: number, RecordProjection.row(patient: facts, event: nil, asOf: day, dimensions: definition.dimensions))
                    }
                })
        else { return nil }
        guard definition.subject != .patients else { return (table, patients.count) }
        var counted = Set<Int>()
        let eventAccess = RecordAccess(.deidentifiedRelease(writtenBy: definition.organization))
        guard
            try await self.pages(
                definition.subject.resourceType, claim: claim, asOf: asOf, access: eventAccess,
                each: { stored in
                    guard let resource = stored.resource, let patientID = stored.patientID, let patient = patients[patientID] else { return }
                    let event = RecordProjection.event(resource, subject: definition.subject)
                    if definition.isPeriodLimited {
                        guard let month = event.date?.monthText, definition.includes(month: month) else { return }
                    }
                    counted.insert(patient.number)
                    try table.append(
                        patient: patient.number,
                        RecordProjection.row(patient: patient.facts, event: event, asOf: day, dimensions: definition.dimensions))
                })
        else { return nil }
        return (table, counted.count)
    }

    /// Reads every `type` resource `access` sees as of `asOf`, a page at a time, renewing the
    /// lease as it goes; false when the lease was lost.
    private func pages(
        _ type: ResourceType, claim: OpenDatasetStore.Claim, asOf: Date, access: RecordAccess, each: (StoredResource) throws -> Void
    ) async throws -> Bool {
        var after: String?
        var renewed = ContinuousClock.now
        while true {
            let page = try await self.records.exportPage(
                type, asOf: asOf, since: nil, patients: .filed, filters: [], afterID: after, count: self.settings.pageSize, access: access)
            for resource in page.resources { try each(resource) }
            if ContinuousClock.now - renewed > self.settings.lease / 3 {
                guard try await self.datasets.renew(claim, owner: self.owner, lease: self.settings.lease) else { return false }
                renewed = .now
            }
            guard page.examined == self.settings.pageSize, let last = page.lastID else { return true }
            after = last
        }
    }
}
