import Foundation
public import HubAudit
import HubFHIR
public import Hummingbird

/// `GET /fhir/AuditEvent`: the audit trail as FHIR R4 AuditEvents, newest first — by patient (a
/// patient's access history), by organization or client, by time; and `GET /fhir/AuditEvent/{id}`,
/// one of them. Records appear once the
/// sequencer has integrated them (within a fraction of a second).
///
/// Read-only: AuditEvents are not a stored resource type, so no FHIR interaction can create,
/// change or delete one. Regulators only (a patient's own access history reaches the patient
/// through their hospital, which asks the commission; the hub has no patient logins).
public struct AuditEventRoutes: Sendable {
    let log: AuditLog

    public init(log: AuditLog) {
        self.log = log
    }

    public func add(to router: Router<HubRequestContext>) {
        let group = router.group("fhir").add(middleware: AccessGate.regulators)
        // Read by id: the record as it was integrated, with its leaf index (for a proof).
        group.get("AuditEvent/:id") { request, context in
            let format = try FHIRFormat(request: request)
            context.audit.interaction("read", action: .read, type: "AuditEvent")
            let id = try FHIRResourceRoutes.id(context)
            guard let found = try await self.log.record(id: id) else {
                throw APIError(.notFound, code: .notFound, diagnostics: "AuditEvent/\(id) is not in the audit log")
            }
            return format.response(.object(try AuditRecord(leafBytes: found.leaf).fhirAuditEvent(logIndex: found.index)))
        }
        group.get("AuditEvent") { request, context in
            let format = try FHIRFormat(request: request)
            context.audit.interaction("search-type", action: .read, type: "AuditEvent")
            var patient: String?
            var organization: String?
            var client: String?
            var from: Date?
            var to: Date?
            var count = 50
            var before: Int?
            for (name, value) in try FHIRSearchRoutes.parameters(request.uri.query ?? "") {
                switch name {
                case "patient": patient = value.hasPrefix("Patient/") ? String(value.dropFirst(8)) : value
                case "organization": organization = value
                case "agent": client = value
                case "date":
                    let prefix = String(value.prefix(2))
                    guard ["ge", "lt"].contains(prefix), let range = FHIRDateRange(String(value.dropFirst(2))) else {
                        throw APIError.badRequest("AuditEvent date takes ge… and lt… (e.g. date=ge2026-11-01)", expression: ["date"])
                    }
                    if prefix == "ge" { from = range.low } else { to = range.low }
                case "_count":
                    guard let number = Int(value), number > 0 else { throw APIError.badRequest("_count must be a positive whole number") }
                    count = min(number, 1000)
                case "_cursor":
                    guard let number = Int(value), number >= 0 else { throw APIError.badRequest("_cursor is not one this server gave") }
                    before = number
                case "_format", "_pretty": break
                default:
                    throw APIError.badRequest(
                        "AuditEvent search takes patient, organization, agent, date (ge, lt), _count (\(name) is not supported)")
                }
            }
            let found = try await self.log.search(
                patient: patient, organization: organization, client: client, from: from, to: to, count: count + 1, before: before
            )
            let base = FHIRResourceRoutes.base(request)
            var entries: [JSONValue] = []
            for (index, leaf) in found.prefix(count) {
                let event = try AuditRecord(leafBytes: leaf).fhirAuditEvent(logIndex: index)
                entries.append(
                    .object(
                        JSONObject([
                            ("fullUrl", .string("\(base)/AuditEvent/\(event["id"]?.stringValue ?? "")")),
                            ("resource", .object(event)),
                            ("search", .object(JSONObject([("mode", .string("match"))]))),
                        ])))
            }
            let query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("_cursor=") }.joined(separator: "&")
            var links: [JSONValue] = [FHIRSearchRoutes.link("self", "\(base)/AuditEvent?\(request.uri.query ?? "")")]
            if found.count > count, let last = found.prefix(count).last {
                links.append(FHIRSearchRoutes.link("next", "\(base)/AuditEvent?\(query)\(query.isEmpty ? "" : "&")_cursor=\(last.index)"))
            }
            var bundle = JSONObject([("resourceType", .string("Bundle")), ("type", .string("searchset")), ("link", .array(links))])
            if !entries.isEmpty { bundle["entry"] = .array(entries) }
            return format.response(.object(bundle))
        }
    }
}
