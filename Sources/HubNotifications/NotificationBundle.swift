public import Foundation
public import HubFHIR

/// The body of a rest-hook notification with a payload: a `history` Bundle shaped after the
/// Subscriptions R5 Backport's R4 "id-only" notification — a status Parameters entry and the
/// focus as a reference with no resource. Nothing clinical: the receiver reads the focus with
/// its own credentials, and that read is authorized and audited like any other.
public enum NotificationBundle {
    static let notificationProfile = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4"
    static let statusProfile = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"

    /// - Parameter base: The hub's FHIR base URL (`https://hub.example/fhir`): Bundle entries'
    ///   `fullUrl`s are absolute.
    public static func make(_ notification: NotificationOutbox.Notification, base: String, now: Date) -> JSONObject {
        let statusID = UUID().uuidString.lowercased()
        let focus = "\(notification.focusType)/\(notification.focusID)"
        func parameter(_ name: String, _ key: String, _ value: JSONValue) -> JSONValue {
            .object(JSONObject([("name", .string(name)), (key, value)]))
        }
        func reference(_ text: String) -> JSONValue { .object(JSONObject([("reference", .string(text))])) }
        let number = String(notification.eventNumber)
        let status = JSONObject([
            ("resourceType", .string("Parameters")),
            ("id", .string(statusID)),
            ("meta", .object(JSONObject([("profile", .array([.string(Self.statusProfile)]))]))),
            (
                "parameter",
                .array([
                    parameter("subscription", "valueReference", reference("\(base)/Subscription/\(notification.subscription)")),
                    parameter("status", "valueCode", .string("active")),
                    parameter("type", "valueCode", .string("event-notification")),
                    parameter("events-since-subscription-start", "valueString", .string(number)),
                    .object(
                        JSONObject([
                            ("name", .string("notification-event")),
                            (
                                "part",
                                .array([
                                    parameter("event-number", "valueString", .string(number)),
                                    parameter("timestamp", "valueInstant", .string(UTCTime(notification.occurredAt).instant)),
                                    parameter("focus", "valueReference", reference("\(base)/\(focus)/_history/\(notification.focusVersion)")),
                                ])
                            ),
                        ])),
                ])
            ),
        ])
        let created = notification.focusVersion == 1
        return JSONObject([
            ("resourceType", .string("Bundle")),
            ("id", .string(UUID().uuidString.lowercased())),
            ("meta", .object(JSONObject([("profile", .array([.string(Self.notificationProfile)]))]))),
            ("type", .string("history")),
            ("timestamp", .string(UTCTime(now).instant)),
            (
                "entry",
                .array([
                    .object(
                        JSONObject([
                            ("fullUrl", .string("urn:uuid:\(statusID)")),
                            ("resource", .object(status)),
                            (
                                "request",
                                .object(
                                    JSONObject([
                                        ("method", .string("GET")), ("url", .string("\(base)/Subscription/\(notification.subscription)/$status")),
                                    ]))
                            ),
                            ("response", .object(JSONObject([("status", .string("200"))]))),
                        ])),
                    .object(
                        JSONObject([
                            ("fullUrl", .string("\(base)/\(focus)")),
                            (
                                "request",
                                .object(
                                    JSONObject([
                                        ("method", .string(created ? "POST" : "PUT")), ("url", .string(created ? notification.focusType : focus)),
                                    ]))
                            ),
                            ("response", .object(JSONObject([("status", .string(created ? "201" : "200"))]))),
                        ])),
                ])
            ),
        ])
    }
}
