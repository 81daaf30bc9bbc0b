import HubCrypto
import HubStorage
import Logging
import PostgresNIO

/// Re-encrypts stored data to the ring's suite, in the background and resumably.
///
/// After the hub's profile changes (say from `intl` to `sm`), new data is sealed with the new
/// suite at once and old data still opens; this job rewrites the old ciphertexts so that the old
/// suite's keys can eventually be retired. It walks each column in key order, a batch per
/// transaction; a batch's rewritten rows and the job's cursor commit together, so a job killed
/// at any point resumes after the last committed batch and never reseals a row twice.
public struct SuiteMigration: Sendable {
    let ring: DataKeyRing
    let columns: [EncryptedColumn]
    let batchSize: Int

    /// - Parameter ring: Seals with the target suite (the hub's configured one).
    public init(ring: DataKeyRing, columns: [EncryptedColumn], batchSize: Int = 200) {
        self.ring = ring
        self.columns = columns
        self.batchSize = batchSize
    }

    public struct Report: Sendable, Equatable {
        /// Rows examined, per column.
        public var examined: [String: Int] = [:]
        /// Rows rewritten, per column.
        public var resealed: [String: Int] = [:]
        public var finished = false
    }

    /// Runs (or resumes) the migration.
    ///
    /// - Parameters:
    ///   - maximumBatches: Stop after this many batches in all (tests use it to interrupt a run).
    ///   - progress: Called after each batch with the column and rows examined so far.
    public func run(
        maximumBatches: Int = .max,
        progress: @Sendable (String, Int) -> Void = { _, _ in }
    ) async throws -> Report {
        let target = self.ring.suite.cipher.algorithm
        let logger = self.ring.logger
        var report = Report()
        var batches = 0
        for column in self.columns {
            let name = "reencrypt:\(column.name):\(target.name)"
            var job = try await self.ring.database.withConnection("start re-encryption") { connection in
                try await CryptoJobProgress.resume(name: name, kind: "reencrypt", target: target.name, on: connection, logger: logger)
            }
            var examined = job.processed
            while true {
                guard batches < maximumBatches else { return report }
                let ring = self.ring
                let limit = self.batchSize
                let cursor = job.cursor
                let batch = try await Self.reencryptBatch(column, after: cursor, limit: limit, to: target, job: name, ring: ring, logger: logger)
                let (count, resealed, last) = (batch.count, batch.resealed, batch.last)
                batches += 1
                examined += count
                job.cursor = last ?? job.cursor
                report.examined[column.name, default: 0] += count
                report.resealed[column.name, default: 0] += resealed
                progress(column.name, examined)
                if count < self.batchSize { break }
            }
            logger.notice("re-encryption finished", metadata: ["column": "\(column.name)", "rows": "\(examined)"])
        }
        report.finished = true
        return report
    }

    /// One batch in one transaction: re-seals the rows not yet under `target` and records the
    /// job's progress with them, so an interrupted run resumes after the last committed batch.
    private static func reencryptBatch(
        _ column: EncryptedColumn,
        after cursor: String?,
        limit: Int,
        to target: AlgorithmIdentifier,
        job name: String,
        ring: DataKeyRing,
        logger: Logger
    ) async throws -> BatchOutcome {
        try await ring.database.withTransaction("re-encryption batch") { connection in
            let values = try await column.batch(after: cursor, limit: limit, on: connection, logger: logger)
            var resealed = 0
            for value in values {
                guard try ring.header(of: value.ciphertext).algorithm != target else { continue }
                let plaintext = try await ring.open(value.ciphertext, context: value.context)
                let sealed = try await ring.seal(plaintext, subject: value.subject, context: value.context)
                try await column.store(sealed, rowKey: value.rowKey, on: connection, logger: logger)
                resealed += 1
            }
            try await CryptoJobProgress.advance(
                name: name,
                cursor: values.last?.rowKey ?? cursor,
                by: values.count,
                done: values.count < limit,
                on: connection,
                logger: logger
            )
            return BatchOutcome(count: values.count, resealed: resealed, last: values.last?.rowKey)
        }
    }

    /// Rows examined and re-sealed by one batch, and the last row key.
    struct BatchOutcome: Sendable {
        var count: Int
        var resealed: Int
        var last: String?
    }
}
