import Foundation
import HubClient
import HubConfig
import HubFHIR
import HubFHIRXML
import HubSynthetic
import HubTestSupport
import Testing

/// The FHIR API in XML (`application/fhir+xml`): every interaction takes and answers XML when
/// asked, answers are the same resources as in JSON, refusals are OperationOutcomes in XML, and
/// an independent implementation (fhir.resources 6.4 with lxml) reads every answer.
@Suite struct FHIRXMLRoutesTests {
    static let xml = [("Content-Type", "application/fhir+xml")]
    static let acceptXML = [("Accept", "application/fhir+xml")]
    let reader = FHIRXMLReader(table: StructureFixtures.table)
    let writer = FHIRXMLWriter(table: StructureFixtures.table)

    func resource(_ reply: HubClient.Reply, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONObject {
        #expect(
            reply.header("Content-Type")?.hasPrefix("application/fhir+xml") == true, "\(reply.status) \(reply.text)", sourceLocation: sourceLocation)
        return try #require(try self.reader.resource(from: reply.body).objectValue, sourceLocation: sourceLocation)
    }

    func xmlBody(_ json: String) throws -> [UInt8] {
        try self.writer.document(try JSONParser.parse(Array(json.utf8)))
    }

    @Test func everyInteractionSpeaksXML() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            var synthetic = SyntheticPatients(seed: 1206)
            var answers: [String: [UInt8]] = [:]
            // Create in XML: the answer comes back in XML, as the body was sent.
            let created = try await hub.send(
                "POST", "/fhir/Patient", headers: Self.xml, body: try self.xmlBody(synthetic.patientJSON()), presenting: pki)
            #expect(created.status == 201, "\(created.text)")
            let patient = try self.resource(created)
            let id = try #require(patient["id"]?.stringValue)
            #expect(created.header("Location")?.contains("/fhir/Patient/\(id)/_history/1") == true)
            answers["create"] = created.body
            // Read: the XML is the JSON resource, element for element.
            let json = try JSONParser.parse(try await hub.send("GET", "/fhir/Patient/\(id)", presenting: pki).body)
            let read = try await hub.send("GET", "/fhir/Patient/\(id)", headers: Self.acceptXML, presenting: pki)
            #expect(JSONValue.object(try self.resource(read)).isEquivalent(to: json))
            #expect(
                String(decoding: read.body, as: UTF8.self).hasPrefix(#"<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir">"#))
            answers["read"] = read.body
            for format in ["xml", "application/fhir+xml", "text/xml"] {
                let byFormat = try await hub.send("GET", "/fhir/Patient/\(id)?_format=\(format)", presenting: pki)
                #expect(JSONValue.object(try self.resource(byFormat)).isEquivalent(to: json))
            }
            let pretty = try await hub.send("GET", "/fhir/Patient/\(id)?_format=xml&_pretty=true", presenting: pki)
            #expect(pretty.text.contains("\n  <id value=\"\(id)\"/>"))
            // Update in XML, with XML answered because asked.
            var changed = try #require(json.objectValue)
            changed["active"] = .bool(false)
            let updated = try await hub.send(
                "PUT", "/fhir/Patient/\(id)", headers: Self.xml + Self.acceptXML, body: try self.writer.document(.object(changed)), presenting: pki)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(try self.resource(updated)["active"] == .bool(false))
            // Search, history and a transaction Bundle.
            let search = try await hub.send("GET", "/fhir/Patient?_id=\(id)&_format=xml", presenting: pki)
            let bundle = try self.resource(search)
            #expect(bundle["resourceType"] == .string("Bundle") && bundle["entry"]?.arrayValue?.count == 1)
            #expect(bundle["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue?["id"] == .string(id))
            answers["search"] = search.body
            let history = try await hub.send("GET", "/fhir/Patient/\(id)/_history", headers: Self.acceptXML, presenting: pki)
            #expect(try self.resource(history)["entry"]?.arrayValue?.count == 2)
            answers["history"] = history.body
            let day = synthetic.recentDay()
            let transaction =
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:8d2a5d9e-4c1b-4f0e-9a51-3f3c1f7e2b10","resource":"#
                + synthetic.observationJSON(test: LabTest.common[0], patient: "Patient/\(id)", day: day)
                + #","request":{"method":"POST","url":"Observation"}}]}"#
            let posted = try await hub.send("POST", "/fhir", headers: Self.xml, body: try self.xmlBody(transaction), presenting: pki)
            #expect(posted.status == 200, "\(posted.text)")
            #expect(try self.resource(posted)["type"] == .string("transaction-response"))
            answers["transaction"] = posted.body
            // $validate takes XML and answers an OperationOutcome in XML.
            let validated = try await hub.send(
                "POST", "/fhir/Patient/$validate", headers: Self.xml,
                body: try self.xmlBody(#"{"resourceType":"Patient","gender":"unknown-gender"}"#),
                presenting: pki)
            #expect(try self.resource(validated)["resourceType"] == .string("OperationOutcome"))
            answers["validate"] = validated.body
            // The CapabilityStatement, and a regulator's AuditEvents.
            let metadata = try await hub.send("GET", "/fhir/metadata", headers: Self.acceptXML)
            #expect(try self.resource(metadata)["resourceType"] == .string("CapabilityStatement"))
            answers["metadata"] = metadata.body
            let events = try await hub.send("GET", "/fhir/AuditEvent?_count=5&_format=xml", presenting: pki.regulator)
            #expect(try self.resource(events)["entry"]?.arrayValue?.isEmpty == false)
            answers["audit"] = events.body
            // Refusals are OperationOutcomes in XML: not found, unauthenticated, bad XML.
            let missing = try await hub.send("GET", "/fhir/Patient/no-such-patient", headers: Self.acceptXML, presenting: pki)
            #expect(missing.status == 404)
            #expect(try self.resource(missing)["resourceType"] == .string("OperationOutcome"))
            answers["missing"] = missing.body
            let anonymous = try await hub.send("GET", "/fhir/Patient/\(id)", headers: Self.acceptXML)
            #expect(anonymous.status == 401)
            #expect(try self.resource(anonymous)["resourceType"] == .string("OperationOutcome"))
            let bad = try await hub.send(
                "POST", "/fhir/Patient", headers: Self.xml,
                body: Array(#"<Patient xmlns="http://hl7.org/fhir"><shoeSize value="42"/></Patient>"#.utf8),
                presenting: pki)
            #expect(bad.status == 400)
            let outcome = try self.resource(bad)
            #expect(String(decoding: JSONValue.object(outcome).serialized(), as: UTF8.self).contains("shoeSize is not an element of Patient"))
            answers["bad"] = bad.body
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fhir-xml-answers-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var paths: [String] = []
            for (name, body) in answers {
                paths.append("\(folder)/\(name).xml")
                try Data(body).write(to: URL(fileURLWithPath: paths.last!))
            }
            let validatedByPeer = try await TestPeer.run("fhir_xml.py", ["validate"] + paths.sorted())
            #expect(validatedByPeer.status == 0, "\(validatedByPeer.standardOutput)\(validatedByPeer.standardError)")
        }
    }

    @Test func acceptIsNegotiatedByQuality() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let id = try await createPatient(hub, seed: 1207, presenting: pki)
            for (accept, expected) in [
                ("application/fhir+json;q=0.5, application/fhir+xml", "application/fhir+xml"),
                ("application/fhir+xml;q=0.1, application/fhir+json", "application/fhir+json"),
                ("text/html, application/xml;q=0.9", "application/fhir+xml"),
                ("*/*", "application/fhir+json"),
            ] {
                let reply = try await hub.send("GET", "/fhir/Patient/\(id)", headers: [("Accept", accept)], presenting: pki)
                #expect(reply.status == 200 && reply.header("Content-Type")?.hasPrefix(expected) == true, "\(accept)")
            }
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)", headers: [("Accept", "text/turtle")], presenting: pki).status == 406)
            #expect(try await hub.send("GET", "/fhir/Patient/\(id)?_format=ttl", presenting: pki).status == 406)
        }
    }

    /// What the independent review tried: a request that crashed the negotiation, an anonymous
    /// XML body, a GET that names XML as its Content-Type, gaps in a list of primitives, an
    /// unsafe narrative, caches told that answers vary.
    @Test func edgesOfNegotiationAndBodies() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let id = try await createPatient(hub, seed: 1208, presenting: pki)
            for (query, accept) in [("?_format=", "application/fhir+json"), ("?_format=%3B", "application/fhir+json"), ("", ";"), ("", " , ")] {
                let reply = try await hub.send("GET", "/fhir/Patient/\(id)\(query)", headers: [("Accept", accept)], presenting: pki)
                #expect(reply.status == 406, "\(query) \(accept): \(reply.status)")
            }
            #expect(try await hub.send("GET", "/fhir/metadata?_format=turtle").status == 406)
            let anonymous = try await hub.send(
                "POST", "/fhir/Patient", headers: Self.xml, body: Array(#"<Patient xmlns="http://hl7.org/fhir"><shoeSize value="1"/></Patient>"#.utf8)
            )
            #expect(anonymous.status == 401)
            let getWithType = try await hub.send("GET", "/fhir/Patient/\(id)", headers: Self.xml, presenting: pki)
            #expect(getWithType.status == 200)
            #expect(getWithType.header("Vary") == "Accept")
            let etag = try #require(getWithType.header("ETag"))
            let notModified = try await hub.send("GET", "/fhir/Patient/\(id)", headers: Self.acceptXML + [("If-None-Match", etag)], presenting: pki)
            #expect(notModified.status == 304 && notModified.body.isEmpty)
            // A list of names with a gap: the second given name only an extension.
            var synthetic = SyntheticPatients(seed: 1209)
            var patient = try #require(try JSONParser.parse(Array(synthetic.patientJSON().utf8)).objectValue)
            patient["name"] = .array([
                .object(
                    JSONObject([
                        ("family", .string("王")), ("given", .array([.string("小明"), .null])),
                        (
                            "_given",
                            .array([
                                .null,
                                .object(
                                    JSONObject([
                                        (
                                            "extension",
                                            .array([.object(JSONObject([("url", .string("http://e.org/g")), ("valueString", .string("明"))]))])
                                        )
                                    ])),
                            ])
                        ),
                    ]))
            ])
            let created = try await hub.send(
                "POST", "/fhir/Patient", headers: Self.xml, body: try self.writer.document(.object(patient)), presenting: pki)
            #expect(created.status == 201, "\(created.text)")
            let name = try self.resource(created)["name"]?.arrayValue?.first?.objectValue
            #expect(name?["given"] == .array([.string("小明"), .null]))
            // Narratives follow R4's rules in JSON as in XML.
            patient["name"] = nil
            patient["text"] = .object(
                JSONObject([
                    ("status", .string("generated")),
                    ("div", .string(#"<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="steal()">王</p></div>"#)),
                ]))
            let unsafe = try await hub.send(
                "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: JSONValue.object(patient).serialized(),
                presenting: pki)
            #expect(unsafe.status == 400 && unsafe.text.contains("onclick"), "\(unsafe.text)")
        }
    }
}
