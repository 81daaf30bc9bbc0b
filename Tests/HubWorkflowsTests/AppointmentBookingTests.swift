import HubFHIR
import HubWorkflows
import Testing

@Suite struct AppointmentBookingRulesTests {
    /// The R4 appointment statuses (http://hl7.org/fhir/R4/valueset-appointmentstatus.html).
    static let statuses = [
        "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist",
    ]

    @Test func everyStatusHasItsTransitionsAndFinalOnesHaveNone() {
        #expect(Set(AppointmentBooking.transitions.keys) == Set(Self.statuses))
        for final in ["fulfilled", "cancelled", "noshow", "entered-in-error"] {
            #expect(AppointmentBooking.transitions[final]?.isEmpty == true, "\(final)")
        }
        // Every target is a status, and nothing returns to an earlier stage of a booking.
        for (from, targets) in AppointmentBooking.transitions {
            #expect(targets.isSubset(of: Set(Self.statuses)))
            #expect(!targets.contains(from))
        }
        #expect(AppointmentBooking.transitions["booked"]?.contains("proposed") == false)
        #expect(AppointmentBooking.transitions["arrived"] == ["fulfilled"])
    }

    @Test func onlyStatusesThatConsumeTheTimeHoldSlots() {
        #expect(AppointmentBooking.holding.isSubset(of: Set(Self.statuses)))
        for status in ["proposed", "waitlist", "cancelled", "entered-in-error"] {
            #expect(!AppointmentBooking.holding.contains(status), "\(status)")
        }
        #expect(AppointmentBooking.holding.contains("booked"))
    }
}
