import Synchronization

/// The patients a request aimed at, whether or not it was allowed to reach them: the patient
/// of the record it addressed, of the record it tried to write, or named by its search.
///
/// The record store notes them as it works (it is the one place that knows a record's patient,
/// visible or not); the audit trail then names them in the request's records — so that a
/// patient's access history shows refused and empty-handed attempts too, not just successes.
/// Never shown to the caller: it only ever reaches the audit log.
public final class AuditTargets: Sendable, Equatable {
    /// In the order first seen, and as a set: a bulk export's file notes tens of thousands.
    struct Noted {
        var order: [String] = []
        var seen: Set<String> = []
    }

    let patients = Mutex(Noted())
    let covered = Mutex<Set<String>>([])

    public init() {}

    /// Notes patients (by Patient id), in the order first seen.
    public func note<S: Sequence>(_ patients: S) where S.Element == String {
        self.patients.withLock { noted in
            for patient in patients where !patient.isEmpty && noted.seen.insert(patient).inserted { noted.order.append(patient) }
        }
    }

    public func note(_ patient: String?) {
        if let patient { self.note([patient]) }
    }

    /// The patients noted so far.
    public var noted: [String] { self.patients.withLock { $0.order } }

    /// Patients the store's own audit records of this request already name (its writes,
    /// recorded in their transaction).
    public func cover<S: Sequence>(_ patients: S) where S.Element == String {
        self.covered.withLock { $0.formUnion(patients) }
    }

    /// The noted patients no record of the store names: a refused entry of a batch, say.
    public var uncovered: [String] {
        let covered = self.covered.withLock { $0 }
        return self.noted.filter { !covered.contains($0) }
    }

    /// One request's targets are one object: two are equal only if they are the same.
    public static func == (lhs: AuditTargets, rhs: AuditTargets) -> Bool { lhs === rhs }
}
