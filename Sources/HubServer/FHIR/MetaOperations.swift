import Foundation
import HubAudit
import HubFHIR
public import HubResources
public import Hummingbird

/// `$meta`, `$meta-add` and `$meta-delete` on one resource (FHIR R4 Resource-meta, -meta-add,
/// -meta-delete): its tags, security labels and profiles, read or changed without sending the
/// resource back.
///
/// A change is a new version of the resource, written as an update is (the same access rules,
/// the same audit), so that history shows who labelled what; a change that changes nothing
/// writes nothing. The answer is a Parameters with `return`, the resulting Meta. The type- and
/// system-level forms (every tag in use) are not offered: they would summarise records the
/// caller may not see.
public struct MetaOperations: Sendable {
    let store: any ResourceStore
    let validator: ResourceValidator

    public init(store: any ResourceStore, validator: ResourceValidator) {
        self.store = store
        self.validator = validator
    }

    /// The Meta members these operations read and change, each a list.
    static let lists = ["tag", "security", "profile"]

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.get(":type/:id/$meta") { request, context in
            _ = try FHIRFormat(request: request)
            let type = try FHIRResourceRoutes.type(context)
            context.audit.interaction("operation", action: .read, type: type.rawValue)
            let stored = try await self.store.read(type, id: try FHIRResourceRoutes.id(context), access: try context.recordAccess(type))
            context.audit.returned([stored])
            return Self.answer(stored.resource?["meta"]?.objectValue ?? JSONObject())
        }
        for (operation, adding) in [("$meta-add", true), ("$meta-delete", false)] {
            group.post(":type/:id/\(operation)") { request, context in
                _ = try FHIRFormat(request: request)
                let type = try FHIRResourceRoutes.type(context)
                let id = try FHIRResourceRoutes.id(context)
                context.audit.interaction("operation", action: .update, type: type.rawValue)
                let access = try context.recordAccess(type, write: true)
                let change = try Self.meta(in: try await FHIRFormat.body(of: request), operation: operation)
                // The client's If-Match, if it sent one, is the version to change; without one a
                // concurrent change is taken in and the labels applied to it (as PATCH does).
                let ifMatch = try FHIRResourceRoutes.ifMatch(request)
                for attempt in 1...3 {
                    let stored = try await self.store.read(type, id: id, access: access)
                    context.audit.targets.note(stored.patientID)
                    guard var resource = stored.resource else {
                        throw APIError(.gone, code: .deleted, diagnostics: "\(type.rawValue)/\(id) is deleted")
                    }
                    let before = resource["meta"]?.objectValue ?? JSONObject()
                    let after = Self.changed(before, by: change, adding: adding)
                    guard !JSONValue.object(after).isEquivalent(to: .object(before)) else {
                        // Nothing to change: what happened is a read.
                        context.audit.interaction("operation", action: .read, type: type.rawValue)
                        context.audit.returned([stored])
                        return Self.answer(before)
                    }
                    resource["meta"] = .object(after)
                    let validated = try self.validator.validate(.object(resource), as: type, expectedID: id)
                    do {
                        let updated = try await self.store.update(
                            validated, type: type, id: id, ifMatch: ifMatch ?? stored.versionID, access: access,
                            audit: AuditContext(caller: context.caller, interaction: "operation"))
                        context.audit.recordedByStore()
                        return Self.answer(updated.resource?["meta"]?.objectValue ?? JSONObject())
                    } catch let error as ResourceError where error.code == .preconditionFailed && ifMatch == nil && attempt < 3 {
                        continue
                    }
                }
                throw APIError(.conflict, code: .conflict, diagnostics: "\(type.rawValue)/\(id) kept changing: try again")
            }
        }
    }

    /// The Meta a Parameters carries in `meta` (`valueMeta`).
    static func meta(in body: JSONValue, operation: String) throws(APIError) -> JSONObject {
        guard let parameters = body.objectValue, parameters["resourceType"]?.stringValue == "Parameters",
            let meta = parameters["parameter"]?.arrayValue?.compactMap(\.objectValue).first(where: { $0["name"]?.stringValue == "meta" })?[
                "valueMeta"]?.objectValue
        else {
            throw APIError.badRequest("\(operation) takes a Parameters with meta (valueMeta)", expression: ["Parameters.parameter"])
        }
        if let other = meta.keys.first(where: { !Self.lists.contains($0) }) {
            throw APIError.badRequest("\(operation) changes tag, security and profile only (not \(other))", expression: ["meta.\(other)"])
        }
        return meta
    }

    /// `meta` with `change`'s entries added (those not already there) or removed. Codings are
    /// the same entry when system and code are; profiles when the URIs are.
    static func changed(_ meta: JSONObject, by change: JSONObject, adding: Bool) -> JSONObject {
        var result = meta
        for list in Self.lists {
            let current = meta[list]?.arrayValue ?? []
            let given = change[list]?.arrayValue ?? []
            func key(_ value: JSONValue) -> String {
                if let uri = value.stringValue { return uri }
                // A coding without a code is only the same entry as itself.
                guard let object = value.objectValue, let code = object["code"]?.stringValue else {
                    return "\u{0}" + String(decoding: value.serialized(), as: UTF8.self)
                }
                return (object["system"]?.stringValue ?? "") + "|" + code
            }
            let givenKeys = Set(given.map(key))
            var updated: [JSONValue]
            if adding {
                var present = Set(current.map(key))
                updated = current
                for entry in given where present.insert(key(entry)).inserted { updated.append(entry) }
            } else {
                updated = current.filter { !givenKeys.contains(key($0)) }
            }
            result[list] = updated.isEmpty ? nil : .array(updated)
        }
        return result
    }

    /// `Parameters { return: Meta }`.
    static func answer(_ meta: JSONObject) -> Response {
        let parameters = JSONObject([
            ("resourceType", .string("Parameters")),
            ("parameter", .array([.object(JSONObject([("name", .string("return")), ("valueMeta", .object(meta))]))])),
        ])
        var response = Response(status: .ok, headers: [.contentType: HubMediaType.fhirJSON])
        response.body = .init(byteBuffer: .init(bytes: JSONValue.object(parameters).serialized()))
        return response
    }
}
