import Synchronization

/// Whether the database's disk is known to be full (SQLSTATE 53100 seen), until
/// ``DiskReserve`` finds room again.
///
/// While full, writes of records are refused before they reach the database
/// (``requireRoom(_:)``, HTTP 503 with `Retry-After`): the space the reserve released is kept for
/// the audit records of reads, which go on.
public final class DiskSpace: Sendable {
    private let full = Atomic<Bool>(false)
    /// Whether a ``DiskReserve`` runs: without one nothing would ever find room again, so a
    /// full disk is then not remembered (each write meets it, and is refused, by itself).
    private let watched = Atomic<Bool>(false)

    public init() {}

    func watch() { self.watched.store(true, ordering: .releasing) }

    public var isFull: Bool { self.full.load(ordering: .acquiring) }

    /// Refuses a write while the disk is full.
    public func requireRoom(_ operation: String) throws(StorageError) {
        if self.isFull {
            throw StorageError(.unavailable, "the database's disk is full: \(operation) refused until space is freed")
        }
    }

    /// Records a full disk; returns whether it was news.
    @discardableResult
    func markFull() -> Bool {
        guard self.watched.load(ordering: .acquiring) else { return false }
        return !self.full.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Records that there is room again; returns whether it was news.
    @discardableResult
    func markRoom() -> Bool { self.full.exchange(false, ordering: .acquiringAndReleasing) }
}
