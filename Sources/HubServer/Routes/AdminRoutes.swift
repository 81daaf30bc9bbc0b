import Foundation
public import HubAccess
import HubAudit
public import Hummingbird
import Logging

/// `/admin`: organizations and principals (clients and users), for administrators only. Every
/// change is audited in its own transaction; reads are audited by ``AuditMiddleware``. After a
/// change the directory's FHIR resources are brought up to date at once (``DirectoryMirror``).
public struct AdminRoutes: Sendable {
    let directory: IdentityDirectory
    let mirror: DirectoryMirror?

    public init(directory: IdentityDirectory, mirror: DirectoryMirror? = nil) {
        self.directory = directory
        self.mirror = mirror
    }

    /// Brings the directory's FHIR resources up to date; a failure is left to the mirror's next
    /// periodic pass (the change itself is made).
    func mirrorDirectory(_ context: HubRequestContext) async {
        do {
            try await self.mirror?.reconcile()
        } catch {
            context.logger.warning("the directory's FHIR resources will be brought up to date later", metadata: ["error": "\(error)"])
        }
    }

    public func add(to router: Router<HubRequestContext>) {
        let group = router.group("admin").add(middleware: AccessGate.administrators)
        group.get("organizations") { _, context in
            context.audit.interaction("admin", action: .read, type: "Organization")
            return Response.json(try await self.directory.organizations())
        }
        group.post("organizations") { request, context in
            context.audit.interaction("admin", action: .create, type: "Organization")
            let organization = try await Self.decode(Organization.self, request)
            let added = try await self.directory.add(organization, audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            await self.mirrorDirectory(context)
            return Response.json(added, status: .created)
        }
        group.patch("organizations/:id") { request, context in
            context.audit.interaction("admin", action: .update, type: "Organization")
            let id = context.parameters.get("id") ?? ""
            let change = try await Self.decode(OrganizationChange.self, request)
            try await self.directory.setActive(organization: id, change.active, audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            await self.mirrorDirectory(context)
            return Response(status: .noContent)
        }
        // Population export grants (the health data center's `$export` of every hospital's
        // records): recorded by an administrator of the commission, revoked the same way.
        group.get("population-grants") { _, context in
            context.audit.interaction("admin", action: .read, type: "PopulationExportGrant")
            return Response.json(try await self.directory.populationExportGrants())
        }
        group.post("population-grants") { request, context in
            context.audit.interaction("admin", action: .create, type: "PopulationExportGrant")
            let asked = try await Self.decode(IdentityDirectory.PopulationExportRequest.self, request)
            let granted = try await self.directory.grantPopulationExport(asked, audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            return Response.json(granted, status: .created)
        }
        group.post("population-grants/:id/approve") { _, context in
            context.audit.interaction("admin", action: .update, type: "PopulationExportGrant")
            let approved = try await self.directory.approvePopulationExportGrant(
                id: context.parameters.get("id") ?? "", audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            return Response.json(approved)
        }
        group.delete("population-grants/:id") { _, context in
            context.audit.interaction("admin", action: .update, type: "PopulationExportGrant")
            try await self.directory.revokePopulationExportGrant(
                id: context.parameters.get("id") ?? "", audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            return Response(status: .noContent)
        }
        group.get("principals") { request, context in
            context.audit.interaction("admin", action: .read, type: "Principal")
            let organization = request.uri.queryParameters.get("organization")
            return Response.json(try await self.directory.principals(organization: organization))
        }
        group.get("principals/:id") { _, context in
            context.audit.interaction("admin", action: .read, type: "Principal")
            return Response.json(try await self.directory.principal(id: context.parameters.get("id") ?? ""))
        }
        group.post("principals") { request, context in
            context.audit.interaction("admin", action: .create, type: "Principal")
            let principal = try await Self.decode(NewPrincipal.self, request).principal
            let added = try await self.directory.add(principal, audit: AuditContext(caller: context.caller, interaction: "admin"))
            context.audit.recordedByStore()
            await self.mirrorDirectory(context)
            return Response.json(added, status: .created)
        }
        group.patch("principals/:id") { request, context in
            context.audit.interaction("admin", action: .update, type: "Principal")
            let change = try await Self.decode(IdentityDirectory.PrincipalChange.self, request)
            let updated = try await self.directory.update(
                principal: context.parameters.get("id") ?? "", change, audit: AuditContext(caller: context.caller, interaction: "admin")
            )
            context.audit.recordedByStore()
            await self.mirrorDirectory(context)
            return Response.json(updated)
        }
    }

    /// The JSON body of an identity or token request; 400 naming what was expected otherwise.
    static func decode<Value: Decodable>(
        _ type: Value.Type,
        _ request: Request,
        expected: String = "the JSON this endpoint takes (see docs/security.md)"
    ) async throws -> Value {
        var request = request
        let body = try await request.collectBody(upTo: 65_536)
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body.readableBytesView))
        } catch {
            throw AccessError(.invalid, "the body is not \(expected)")
        }
    }

    struct OrganizationChange: Decodable {
        var active: Bool
    }

    /// A principal as an administrator registers it (`kind` follows from `role`).
    struct NewPrincipal: Decodable {
        var id: String
        var role: Role
        var organization: String
        var name: String
        var scopes: [String]?
        var certificateSHA256: String?
        var publicKey: String?

        var principal: Principal {
            Principal(
                id: self.id, role: self.role, organization: self.organization, name: self.name, scopes: self.scopes ?? [],
                certificateSHA256: self.certificateSHA256, publicKey: self.publicKey
            )
        }
    }
}
