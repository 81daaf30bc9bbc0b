/// Writes the audit records of reads and searches durably before their responses leave, and
/// commits the records of concurrent requests together (group commit).
///
/// While one batch is being written, later records wait and go in the next batch: under load a
/// single `INSERT` carries many requests' records, and no request waits for more than the batch
/// in flight plus its own. A failure fails every request of the batch (fail closed).
public actor AuditWriter {
    let log: AuditLog
    let maximumBatch: Int
    private var pending: [AuditRecord] = []
    private var waiters: [(count: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    public init(log: AuditLog, maximumBatch: Int = 2_000) {
        self.log = log
        self.maximumBatch = maximumBatch
    }

    /// Returns once `records` are durably queued for the log; throws if they could not be.
    public func write(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.pending.append(contentsOf: records)
            self.waiters.append((records.count, continuation))
            if !self.flushing {
                self.flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !self.waiters.isEmpty {
            // Whole requests only, up to the batch limit (a request larger than it goes alone).
            var take = 0
            var records = 0
            while take < self.waiters.count, take == 0 || records + self.waiters[take].count <= self.maximumBatch {
                records += self.waiters[take].count
                take += 1
            }
            let batch = Array(self.pending.prefix(records))
            let batchWaiters = self.waiters.prefix(take).map(\.continuation)
            self.pending.removeFirst(records)
            self.waiters.removeFirst(take)
            do {
                try await self.log.enqueue(batch)
                for waiter in batchWaiters { waiter.resume() }
            } catch {
                for waiter in batchWaiters { waiter.resume(throwing: error) }
            }
        }
        self.flushing = false
    }
}
