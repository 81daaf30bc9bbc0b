import HubAudit
import HubFHIR
import HubResources
import Hummingbird

/// Conditional update, patch and delete (FHIR R4 §3.1.0.4.3, §3.1.0.6.1, §3.1.0.7.1): `PUT`,
/// `PATCH` and `DELETE` on `[type]?[criteria]`. The criteria are a search, run with the caller's
/// own view: a record it may not see is no match.
///
/// - update: no match creates (the hub assigns the id: a body naming one is 400), one match is
///   updated (a body naming another id is 400; `If-Match` applies), more are 412.
/// - patch: no match is 404, one match is patched (as `PATCH [type]/[id]`), more are 412.
/// - delete: no match is 204 with nothing done, one match is deleted, more are 412 (single).
///
/// The search and the write are two steps: two conditional updates racing on the same new
/// criteria may both create, as the specification allows; a unique identifier (a resident ID
/// number) is still refused the second time.
extension FHIRResourceRoutes {
    func addConditional(to group: RouterGroup<HubRequestContext>) {
        group.put(":type") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            context.audit.interaction("update", action: .update, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            let found = try await self.conditionalMatch(request, context, type: type, access: access)
            let body = try await FHIRFormat.body(of: request)
            guard let match = found else {
                // If-Match names a version the client saw: with nothing matching, creating would
                // make a second record rather than update the one it meant.
                guard try Self.ifMatch(request) == nil else {
                    throw ResourceError(.preconditionFailed, .conflict, "If-Match names a version, but no \(type.rawValue) matches the criteria")
                }
                guard body.objectValue?["id"] == nil else {
                    throw APIError.badRequest("no \(type.rawValue) matches, and the hub assigns ids: send the resource without an id to create it")
                }
                let resource = try self.validator.validate(body, as: type, expectedID: nil)
                let stored = try await self.store.create(
                    resource, type: type, access: access, audit: AuditContext(caller: context.caller, interaction: "create"))
                context.audit.recordedByStore()
                return Self.respond(stored, status: .created, request: request, format: format, location: true)
            }
            // The match's id, unless the body names another (an id is optional here).
            var object = body.objectValue ?? JSONObject()
            if object["id"] == nil, body.objectValue != nil { object["id"] = .string(match.id) }
            let resource = try self.validator.validate(body.objectValue == nil ? body : .object(object), as: type, expectedID: match.id)
            let stored = try await self.store.update(
                resource, type: type, id: match.id, ifMatch: try Self.ifMatch(request), access: access,
                audit: AuditContext(caller: context.caller, interaction: "update"))
            context.audit.recordedByStore()
            return Self.respond(stored, status: .ok, request: request, format: format, location: true)
        }
        group.patch(":type") { request, context in
            let format = try FHIRFormat(request: request)
            let type = try Self.type(context)
            context.audit.interaction("patch", action: .update, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            guard let match = try await self.conditionalMatch(request, context, type: type, access: access) else {
                throw ResourceError(.notFound, .notFound, "no \(type.rawValue) matches the criteria")
            }
            return try await self.patch(type, id: match.id, request: request, context: context, access: access, format: format)
        }
        group.delete(":type") { request, context in
            let type = try Self.type(context)
            context.audit.interaction("delete", action: .delete, type: type.rawValue)
            let access = try context.recordAccess(type, write: true)
            guard let match = try await self.conditionalMatch(request, context, type: type, access: access) else {
                return Response(status: .noContent)
            }
            let stored = try await self.store.delete(
                type, id: match.id, access: access, audit: AuditContext(caller: context.caller, interaction: "delete"))
            context.audit.recordedByStore()
            return Response(status: .noContent, headers: [.eTag: stored.eTag])
        }
    }

    /// The record the request's criteria match, if any (more are 412).
    private func conditionalMatch(
        _ request: Request, _ context: HubRequestContext, type: ResourceType, access: RecordAccess
    ) async throws -> StoredResource? {
        let criteria = try FHIRSearchRoutes.parameters(request.uri.query ?? "").filter { !["_format", "_pretty"].contains($0.0) }
        guard !criteria.isEmpty else {
            let interaction = request.method == .put ? "update" : request.method == .patch ? "patch" : "delete"
            throw APIError.badRequest("a conditional \(interaction) needs search criteria ([type]?[criteria])")
        }
        return try await self.store.conditionalMatch(type, criteria: criteria, access: access, expression: type.rawValue)
    }
}
