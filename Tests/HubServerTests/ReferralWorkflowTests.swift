import Foundation
import HubClient
import HubConfig
import HubTestSupport
import Testing

/// Referrals between hospitals (issue #6): A refers its patient to B with a ServiceRequest and a
/// Task; B sees the referral at once, the patient's records only once it accepts.
@Suite struct ReferralWorkflowTests {
    static let json = [("Content-Type", "application/fhir+json")]
    static let a = "Organization/test-hospital"
    static let b = "Organization/other-hospital"

    static func referral(patient: String, supporting: String) -> [UInt8] {
        Array(SyntheticPatients.referralBundle(patient: patient, supporting: supporting, from: a, to: b).utf8)
    }

    static func task(_ task: [String: Any], status: String, owner: String? = nil) throws -> [UInt8] {
        var task = task
        task["status"] = status
        task["meta"] = nil
        if let owner { task["owner"] = ["reference": owner] }
        return Array(try JSONSerialization.data(withJSONObject: task))
    }

    @Test func aReferralIsSeenAtOnceAcceptedByItsAddresseeAndOpensTheRecord() async throws {
        let pki = try TestEnvironment.pki()
        try await withHub({ $0.tls.clientAuthentication = .optional }) { hub in
            let hospitalA = pki
            let hospitalB = pki.otherHospital
            var people = SyntheticPatients(seed: 93)
            func patientWithResult() async throws -> (String, String) {
                let patient = try #require(
                    try jsonObject(
                        try await hub.send("POST", "/fhir/Patient", headers: Self.json, body: Array(people.patientJSON().utf8), presenting: hospitalA)
                    )["id"] as? String)
                let result = try #require(
                    try jsonObject(
                        try await hub.send(
                            "POST", "/fhir/Observation", headers: Self.json,
                            body: Array(people.observationJSON(test: LabTest.common[0], patient: "Patient/\(patient)", day: "2026-11-28").utf8),
                            presenting: hospitalA
                        ))["id"] as? String)
                return (patient, result)
            }
            func send(_ body: [UInt8], _ id: String, as caller: TestPKI) async throws -> HubClient.Reply {
                try await hub.send("PUT", "/fhir/Task/\(id)", headers: Self.json, body: body, presenting: caller)
            }

            let (patient, result) = try await patientWithResult()
            let sent = try await hub.send(
                "POST", "/fhir", headers: Self.json, body: Self.referral(patient: patient, supporting: result), presenting: hospitalA)
            #expect(sent.status == 200, "\(sent.text)")
            // B finds the referral addressed to it, and its request, but not yet the patient's records.
            let inbox = try jsonObject(try await hub.send("GET", "/fhir/Task?owner=\(Self.b)&status=requested", presenting: hospitalB))
            let task = try #require(((inbox["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
            let taskID = try #require(task["id"] as? String)
            let request = try #require(((task["basedOn"] as? [[String: Any]])?.first?["reference"]) as? String)
            #expect(try await hub.send("GET", "/fhir/\(request)", presenting: hospitalB).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: hospitalB).status == 404)
            #expect(try await hub.send("GET", "/fhir/Observation/\(result)", presenting: hospitalB).status == 404)

            // Only B moves it forward, only A cancels, and only along the states.
            #expect(try await send(try Self.task(task, status: "received"), taskID, as: hospitalA).status == 403)
            #expect(try await send(try Self.task(task, status: "cancelled"), taskID, as: hospitalB).status == 403)
            #expect(try await send(try Self.task(task, status: "in-progress"), taskID, as: hospitalB).status == 409)
            #expect(try await send(try Self.task(task, status: "received", owner: "Organization/test-hospital"), taskID, as: hospitalB).status == 422)
            for status in ["received", "accepted"] {
                let step = try await send(try Self.task(task, status: status), taskID, as: hospitalB)
                #expect(step.status == 200, "\(status): \(step.text)")
            }
            // Accepted: B reads the patient and the supporting result.
            #expect(try await hub.send("GET", "/fhir/Patient/\(patient)", presenting: hospitalB).status == 200)
            #expect(try await hub.send("GET", "/fhir/Observation/\(result)", presenting: hospitalB).status == 200)
            for status in ["in-progress", "completed"] {
                #expect(try await send(try Self.task(task, status: status), taskID, as: hospitalB).status == 200, "\(status)")
            }
            let late = try await send(try Self.task(task, status: "cancelled"), taskID, as: hospitalA)
            #expect(late.status == 409)
            #expect(late.text.contains("final"))
            #expect(try await hub.send("DELETE", "/fhir/Task/\(taskID)", presenting: hospitalA).status == 409)

            // A rejected referral opens nothing.
            let (other, otherResult) = try await patientWithResult()
            _ = try await hub.send(
                "POST", "/fhir", headers: Self.json, body: Self.referral(patient: other, supporting: otherResult), presenting: hospitalA)
            let second = try jsonObject(try await hub.send("GET", "/fhir/Task?owner=\(Self.b)&status=requested", presenting: hospitalB))
            let pending = try #require(((second["entry"] as? [[String: Any]])?.first?["resource"]) as? [String: Any])
            #expect(try await send(try Self.task(pending, status: "rejected"), try #require(pending["id"] as? String), as: hospitalB).status == 200)
            #expect(try await hub.send("GET", "/fhir/Patient/\(other)", presenting: hospitalB).status == 404)
            // A referral sent in another organization's name is refused.
            var forged = String(decoding: Self.referral(patient: other, supporting: otherResult), as: UTF8.self)
            forged = forged.replacingOccurrences(
                of: #""requester":{"reference":"\#(Self.a)"},"owner""#, with: #""requester":{"reference":"Organization/health-commission"},"owner""#)
            #expect(try await hub.send("POST", "/fhir", headers: Self.json, body: Array(forged.utf8), presenting: hospitalA).status == 403)
        }
    }
}
