import ArgumentParser
import Foundation
import HubAuditCore
import HubClient
import HubCrypto
import HubSynthetic

/// The steps of a backup-and-restore check (`ops/chaos/backup-restore`, issue #18): write
/// patients and note their ids, take a signed audit checkpoint, and — on the restored hub —
/// check that exactly the expected patients are there and that the restored audit log extends
/// the checkpoint taken before the recovery point.
struct RecoveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery",
        abstract: "Write, checkpoint and check patients around a backup and a point-in-time restore.",
        subcommands: [Write.self, Checkpoint.self, Check.self]
    )

    /// The regulator's identity, for the audit API.
    struct RegulatorOptions: ParsableArguments {
        @Option(help: "Regulator's client certificate (PEM).") var regulatorCert: String
        @Option(help: "Regulator's client key (PEM).") var regulatorKey: String

        func client(_ options: ClientOptions) throws -> HubClient {
            try HubClient(
                configuration: .init(
                    serverURL: options.url, caCertificate: options.ca, clientCertificate: self.regulatorCert, clientKey: self.regulatorKey))
        }
    }

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create synthetic patients and append their ids to a file.")

        @OptionGroup var client: ClientOptions
        @Option(help: "Patients to create.") var count = 20
        @Option(help: "Seed of the synthetic patients.") var seed: UInt64 = 1
        @Option(help: "File the created ids are appended to, one per line.") var ids: String

        func run() async throws {
            let hub = try self.client.client(connections: 4)
            var people = SyntheticPatients(seed: self.seed)
            var created: [String] = []
            for _ in 0..<self.count {
                let reply = try await hub.send(
                    "POST", "/fhir/Patient", headers: [("Content-Type", "application/fhir+json")], body: Array(people.patientJSON().utf8))
                guard reply.status == 201,
                    let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
                    let id = object["id"] as? String
                else {
                    try await hub.shutdown()
                    throw ValidationError("a create was answered \(reply.status)")
                }
                created.append(id)
            }
            try await hub.shutdown()
            let file = URL(fileURLWithPath: self.ids)
            let earlier = (try? Data(contentsOf: file)) ?? Data()
            try (earlier + Data(created.map { $0 + "\n" }.joined().utf8)).write(to: file)
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a fresh signed checkpoint of the audit log (a signed note).")

        @OptionGroup var client: ClientOptions
        @OptionGroup var regulator: RegulatorOptions
        @Option(help: "File the signed note is written to.") var note: String

        func run() async throws {
            let hub = try self.regulator.client(self.client)
            let reply = try await hub.send("POST", "/audit/checkpoint")
            try await hub.shutdown()
            guard reply.status == 200 else { throw ValidationError("POST /audit/checkpoint was answered \(reply.status)") }
            _ = try SignedCheckpoint(note: reply.text)
            try Data(reply.body).write(to: URL(fileURLWithPath: self.note))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a restored hub: the expected patients read back, the others are not there, and its audit log extends a checkpoint.")

        @OptionGroup var client: ClientOptions
        @OptionGroup var regulator: RegulatorOptions
        @Option(help: "Ids that must read back, one per line (repeatable).") var present: [String] = []
        @Option(help: "Ids that must not be there, one per line (repeatable).") var absent: [String] = []
        @Option(help: "A checkpoint taken before the recovery point (`recovery checkpoint`).") var note: String

        func run() async throws {
            let hub = try self.client.client(connections: 4)
            let regulator = try self.regulator.client(self.client)
            var problems: [String] = []
            let present = try self.present.flatMap(Self.ids)
            let absent = try self.absent.flatMap(Self.ids)
            var missing = 0
            for id in present where try await hub.send("GET", "/fhir/Patient/\(id)").status != 200 { missing += 1 }
            var resurrected = 0
            for id in absent where try await hub.send("GET", "/fhir/Patient/\(id)").status != 404 { resurrected += 1 }
            if missing > 0 { problems.append("\(missing) of \(present.count) patients before the recovery point do not read back") }
            if resurrected > 0 { problems.append("\(resurrected) of \(absent.count) patients after the recovery point are there") }

            // The restored log extends the checkpoint taken before the recovery point.
            let before = try SignedCheckpoint(note: String(decoding: try Data(contentsOf: URL(fileURLWithPath: self.note)), as: UTF8.self))
            let after = try SignedCheckpoint(note: try await regulator.send("POST", "/audit/checkpoint").text)
            let proofReply = try await regulator.send(
                "GET", "/audit/proof/consistency?from=\(before.checkpoint.size)&to=\(after.checkpoint.size)")
            let proof = try? JSONSerialization.jsonObject(with: Data(proofReply.body)) as? [String: Any]
            let hashes = ((proof?["hashes"] as? [String]) ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
            let consistent = MerkleTree(hash: try SM3()).verifyConsistency(
                oldSize: before.checkpoint.size, newSize: after.checkpoint.size,
                oldRoot: before.checkpoint.rootHash, newRoot: after.checkpoint.rootHash, proof: hashes)
            if !consistent { problems.append("the restored audit log does not extend the checkpoint before the recovery point") }
            try await hub.shutdown()
            try await regulator.shutdown()

            let summary: [String: Any] = [
                "name": "recovery-check",
                "present": present.count, "missing": missing,
                "absent": absent.count, "resurrected": resurrected,
                "checkpointBefore": before.checkpoint.size, "checkpointAfter": after.checkpoint.size,
                "auditConsistent": consistent,
                "problems": problems,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
            if !problems.isEmpty { throw ExitCode(1) }
        }

        static func ids(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
    }
}
