import HubAuditCore
import HubFHIR
public import HubResourcesCore
import HubStorage
public import Logging
public import ServiceLifecycle
import Synchronization

/// Keeps the stored Organization, Practitioner and PractitionerRole resources equal to what the
/// directory implies (``DirectoryResources``), so that every reference the hub writes resolves.
///
/// A pass reads the directory and, only when it changed since the last pass that completed,
/// compares each implied resource with the stored one and writes those that differ: a create
/// with the directory's id, or an update. The resources belong to the hub (written without an
/// organization), so no hospital can change them; deactivating an organization or a clinician
/// makes their resource `active: false` — nothing is deleted, references keep resolving. A pass
/// runs at start, after each change made through this hub's `/admin`, and every ``interval``
/// (changes made by `hub admin` or another hub). Passes are idempotent: two hubs converge.
public final class DirectoryMirror: Service, Sendable {
    let directory: IdentityDirectory
    let store: any ResourceStore
    let interval: Duration
    let logger: Logger
    /// The directory's resources as of the last completed pass.
    private let mirrored = Mutex<[DirectoryResources.Entry]?>(nil)
    /// The latest pass asked for: each waits for the one before, so passes never interleave
    /// (an older pass would otherwise write back what a newer one replaced).
    private let latest = Mutex<Task<Int, any Error>?>(nil)

    /// Who the audit trail names for the mirror's writes.
    static let audit = AuditContext(caller: Caller(user: "directory", address: "local", purposeOfUse: "HSYSADMIN"), interaction: "directory")

    public init(directory: IdentityDirectory, store: any ResourceStore, interval: Duration = .seconds(30), logger: Logger) {
        self.directory = directory
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// The pass before the hub serves (`hub serve` runs it after the start-up checks). A
    /// failure — the database away — is logged and left to the periodic passes.
    public func pass() async {
        do {
            try await self.reconcile()
        } catch {
            self.logger.warning("the directory's FHIR resources could not be brought up to date", metadata: ["error": "\(error)"])
        }
    }

    /// The periodic passes, until shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            await self.pass()
        }
    }

    /// One pass, after any pass already running; returns the number of resources written.
    /// A pass that could not bring every entry up to date throws the first failure, having done
    /// the rest, and the next pass looks at everything again.
    @discardableResult
    public func reconcile() async throws -> Int {
        let pass = self.latest.withLock { latest in
            let previous = latest
            let next = Task {
                _ = try? await previous?.value
                return try await self.runPass()
            }
            latest = next
            return next
        }
        return try await pass.value
    }

    private func runPass() async throws -> Int {
        let entries = DirectoryResources.entries(
            organizations: try await self.directory.organizations(), principals: try await self.directory.principals())
        if self.mirrored.withLock({ $0 }) == entries { return 0 }
        var written = 0
        var failure: (any Error)?
        for entry in entries {
            // Another hub may write the same resource at the same moment: its write conflicts
            // with this one, and the entry is looked at again.
            for attempt in 1...3 {
                do {
                    if try await self.bringUpToDate(entry) { written += 1 }
                    break
                } catch let error as StorageError where error.code == .conflict && attempt < 3 {
                    continue
                } catch let error as ResourceError where [.conflict, .preconditionFailed].contains(error.code) && attempt < 3 {
                    continue
                } catch {
                    failure = failure ?? error
                    break
                }
            }
        }
        if let failure { throw failure }
        self.mirrored.withLock { $0 = entries }
        if written > 0 { self.logger.info("directory resources brought up to date", metadata: ["written": "\(written)"]) }
        return written
    }

    /// Writes `entry` unless the stored resource already says the same; whether it wrote.
    private func bringUpToDate(_ entry: DirectoryResources.Entry) async throws -> Bool {
        let stored: StoredResource?
        do {
            stored = try await self.store.read(entry.type, id: entry.id, access: .unrestricted)
        } catch let error as ResourceError where error.code == .notFound {
            stored = nil
        } catch let error as ResourceError where error.code == .gone {
            // Deleted by the operator (no client can): left deleted, and said so.
            self.logger.notice("a directory resource was deleted and is not recreated", metadata: ["resource": "\(entry.type.rawValue)/\(entry.id)"])
            return false
        }
        guard let stored, let current = stored.resource else {
            _ = try await self.store.transaction([.create(entry.type, id: entry.id, entry.resource)], access: .unrestricted, audit: Self.audit)
            return true
        }
        var unstamped = current
        unstamped["meta"] = nil
        guard !JSONValue.object(unstamped).isEquivalent(to: .object(entry.resource)) else { return false }
        _ = try await self.store.transaction(
            [.update(entry.type, id: entry.id, entry.resource, ifMatch: stored.versionID)], access: .unrestricted, audit: Self.audit)
        return true
    }
}
