public import HubFHIR
public import HubResourcesCore

/// Booking: an Appointment that holds Slots takes them, atomically — the Slots' new versions
/// (`busy`) commit with the Appointment, each conditional on the version that was free, so of
/// concurrent bookings of one Slot exactly one commits and the others get 409 naming the Slot.
/// Cancelling (or deleting, or marking in error) frees the Slots; moving the booking to other
/// Slots frees the old and takes the new in the same transaction. Statuses change only along
/// ``transitions``.
///
/// The organization that published a booked Slot gets a care relationship with the patient
/// (the store derives it from the Appointment's slots, docs/security.md).
public struct AppointmentBooking: WriteRule {
    public init() {}

    public var type: ResourceType { .appointment }

    /// Statuses in which an Appointment holds its Slots.
    public static let holding: Set<String> = ["pending", "booked", "arrived", "checked-in", "fulfilled", "noshow"]

    /// FHIR R4 Appointment statuses and which may follow which; any may become
    /// `entered-in-error`, nothing follows a final one.
    public static let transitions: [String: Set<String>] = [
        "proposed": ["pending", "booked", "waitlist", "cancelled"],
        "waitlist": ["pending", "booked", "cancelled"],
        "pending": ["booked", "cancelled"],
        "booked": ["checked-in", "arrived", "cancelled", "noshow"],
        "checked-in": ["arrived", "fulfilled", "noshow"],
        "arrived": ["fulfilled"],
        "fulfilled": [], "cancelled": [], "noshow": [], "entered-in-error": [],
    ]

    public func expand(_ operation: WriteOperation, store: any ResourceStore, access: RecordAccess) async throws -> [DerivedWrite] {
        switch operation {
        case .create(_, _, let appointment):
            let status = appointment["status"]?.stringValue ?? ""
            guard Self.transitions[status] != nil else {
                throw ResourceError(
                    .unprocessable, .value, "Appointment.status \(status) is not an R4 appointment status", expression: ["Appointment.status"])
            }
            return try await self.changes(
                from: [], to: Self.holding.contains(status) ? Self.slots(of: appointment) : [], store: store, access: access)
        case .update(_, let id, let appointment, _):
            let current = try await store.read(.appointment, id: id, access: access)
            let before = current.resource ?? JSONObject()
            let old = before["status"]?.stringValue ?? ""
            let new = appointment["status"]?.stringValue ?? ""
            if old != new, new != "entered-in-error", !(Self.transitions[old]?.contains(new) ?? false) {
                let allowed = (Self.transitions[old] ?? []).sorted() + ["entered-in-error"]
                throw ResourceError(
                    .conflict, .businessRule,
                    "an Appointment that is \(old) cannot become \(new) (it may become: \(allowed.joined(separator: ", ")))",
                    expression: ["Appointment.status"]
                )
            }
            let held = Self.holding.contains(old) ? Self.slots(of: before) : []
            let holds = Self.holding.contains(new) ? Self.slots(of: appointment) : []
            return try await self.changes(from: held, to: holds, store: store, access: access)
        case .delete(_, let id):
            guard let current = try? await store.read(.appointment, id: id, access: access), let before = current.resource else { return [] }
            let status = before["status"]?.stringValue ?? ""
            return try await self.changes(from: Self.holding.contains(status) ? Self.slots(of: before) : [], to: [], store: store, access: access)
        }
    }

    /// Frees `released` Slots and takes `taken` ones (those in both stay as they are).
    func changes(from released: [String], to taken: [String], store: any ResourceStore, access: RecordAccess) async throws -> [DerivedWrite] {
        var writes: [DerivedWrite] = []
        for (index, slot) in taken.enumerated() where !released.contains(slot) {
            let current: StoredResource
            do {
                current = try await store.read(.slot, id: slot, access: access)
            } catch let error as ResourceError where error.code == .notFound || error.code == .gone {
                throw ResourceError(.unprocessable, .notFound, "Slot/\(slot) does not exist", expression: ["Appointment.slot[\(index)]"])
            }
            guard var resource = current.resource, resource["status"]?.stringValue == "free" else {
                throw ResourceError(.conflict, .conflict, "Slot/\(slot) is not free", expression: ["Appointment.slot[\(index)]"])
            }
            resource["status"] = .string("busy")
            writes.append(
                DerivedWrite(
                    .update(.slot, id: slot, resource, ifMatch: current.versionID),
                    conflict: "Slot/\(slot) is not free: it was booked meanwhile",
                    expression: "Appointment.slot[\(index)]"
                ))
        }
        for slot in released where !taken.contains(slot) {
            guard let current = try? await store.read(.slot, id: slot, access: access), var resource = current.resource else { continue }
            guard resource["status"]?.stringValue == "busy" else { continue }
            resource["status"] = .string("free")
            writes.append(
                DerivedWrite(
                    .update(.slot, id: slot, resource, ifMatch: current.versionID),
                    conflict: "Slot/\(slot) changed meanwhile; retry"
                ))
        }
        return writes
    }

    /// The ids of the Slots an Appointment names (`Slot/<id>` references).
    static func slots(of appointment: JSONObject) -> [String] {
        (appointment["slot"]?.arrayValue ?? []).compactMap { $0.referencedID("Slot") }
    }
}
