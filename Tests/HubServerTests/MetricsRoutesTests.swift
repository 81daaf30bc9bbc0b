import HubClient
import HubConfig
import HubTestSupport
import Testing

@Suite struct MetricsRoutesTests {
    @Test func exposesRequestAndDatabaseFiguresInPrometheusFormat() async throws {
        try await withHub { hub in
            _ = try await hub.send("GET", "/healthz")
            _ = try await hub.send("GET", "/readyz")
            _ = try await hub.send("GET", "/nowhere/at/all")
            _ = try await hub.send("GET", "/fhir/Patient")  // no client certificate: 401, labelled by template
            let reply = try await hub.send("GET", "/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = reply.text
            #expect(text.contains(#"hub_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
            #expect(text.contains(#"hub_http_requests_total{route="NotFound",method="GET",status="404"} 1"#))
            #expect(text.contains(#"hub_http_requests_total{route="/fhir/{type}",method="GET",status="401"} 1"#))
            #expect(text.contains("# TYPE hub_http_request_duration_seconds histogram"))
            #expect(text.contains("hub_db_pool_max_connections 2"))
            #expect(text.contains(#"hub_db_operation_duration_seconds_count{outcome="ok"}"#))
        }
    }
}
