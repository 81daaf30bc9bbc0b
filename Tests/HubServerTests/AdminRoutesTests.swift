import Foundation
import HubClient
import HubTestSupport
import Testing

@Suite struct AdminRoutesTests {
    /// An organization is registered with the documented `{"id","name","kind"}`: `active` is
    /// optional and defaults to true.
    @Test func anOrganizationIsActiveUnlessItSaysOtherwise() async throws {
        try await withHub { hub in
            let admin = try await hub.token(for: TestHub.Identities.administrator)
            let json = [("Content-Type", "application/json")]
            let body = #"{"id":"east-district-clinic","name":"东区社区卫生服务中心","kind":"hospital"}"#
            let added = try await hub.send("POST", "/admin/organizations", headers: json, body: Array(body.utf8), bearer: admin)
            #expect(added.status == 201, "\(added.text)")
            #expect(try jsonObject(added)["active"] as? Bool == true)
            let inactive = #"{"id":"closed-clinic","name":"已关闭诊所","kind":"other","active":false}"#
            let closed = try await hub.send("POST", "/admin/organizations", headers: json, body: Array(inactive.utf8), bearer: admin)
            #expect(try jsonObject(closed)["active"] as? Bool == false)
            let missingKind = #"{"id":"nameless","name":"无类型"}"#
            #expect(try await hub.send("POST", "/admin/organizations", headers: json, body: Array(missingKind.utf8), bearer: admin).status == 400)
        }
    }
}
