import ArgumentParser
import Foundation
import HubAudit
import HubConfig
import HubCrypto
import HubStorage
import Logging
import Metrics

/// The audit log's figures for ops/bench/audit, as JSON lines:
///
/// - `verify`: offline verification of a whole log segment (signature, every leaf hashed on all
///   cores, root recomputed) in records per second, beside the same run's bare leaf hashing of
///   the same bytes on one core; and reading the verified records (parsing) on its own;
/// - `grow`, `inclusion`, `consistency` (with `--database-url`): the log grown in PostgreSQL to
///   each size, then proofs fetched from the stored subtree hashes — their size and median time,
///   which should grow with log₂ of the size, not with the size.
struct AuditBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit log verification and proof figures as JSON lines.")

    @Option(help: "sm or intl.") var suite = "sm"
    @Option(help: "Records verified offline per round.") var records = 200_000
    @Option(help: "Rounds (medians are reported).") var rounds = 5
    @Option(help: "A migrated database to grow the log in (proof figures); none: verification only.") var databaseURL: String?
    @Option(help: "Log sizes for the proof figures, comma-separated.") var sizes = "10000,100000,1000000"
    @Option(help: "Key directory for checkpoint signing (created if missing).") var keyDirectory = ".hub/bench/audit-keys"

    func run() async throws {
        let suite = self.suite == "intl" ? CryptoSuite.international() : try CryptoSuite.sm()
        try self.verification(suite)
        if let databaseURL {
            try await self.proofs(suite, url: try DatabaseURL(parsing: databaseURL))
        }
    }

    static func record(_ number: Int) -> AuditRecord {
        AuditRecord(
            time: Date(timeIntervalSince1970: 1_796_000_000 + Double(number) / 100),
            action: number % 7 == 0 ? .create : .read,
            interaction: number % 7 == 0 ? "create" : "search-type",
            status: number % 7 == 0 ? 201 : 200,
            caller: Caller(
                client: "cert:\(String(number % 40, radix: 16))a91c3e0b7d24f5",
                organization: "H\(String(format: "%03d", number % 40))",
                user: number % 3 == 0 ? "u\(number % 500)" : nil,
                address: "10.\(number % 200).\(number % 250).\(number % 251)",
                requestID: UUID().uuidString.lowercased()
            ),
            patient: UUID().uuidString.lowercased(),
            resourceType: "Observation",
            entities: (0..<(1 + number % 3)).map { _ in "Observation/\(UUID().uuidString.lowercased())/_history/1" },
            parameters: ["_count", "code", "date", "patient"]
        )
    }

    func verification(_ suite: CryptoSuite) throws {
        let tree = MerkleTree(hash: suite.hash)
        let leaves = (0..<self.records).map { Self.record($0).leafBytes }
        let root = try tree.root(leafHashes: leaves.map { try tree.leafHash($0) })
        let key = try suite.signature.generateSigningKey()
        let keyID = KeyID.random(prefix: "bench")
        let checkpoint = Checkpoint(
            origin: "bench.local/audit", size: leaves.count, rootHash: root, hashAlgorithm: suite.hash.algorithm, time: Date())
        let signed = SignedCheckpoint(
            checkpoint: checkpoint,
            signature: try SignedObject.sign(Array(checkpoint.text.utf8), with: key, keyID: keyID),
            noteKeyID: try Checkpoint.noteKeyID(origin: checkpoint.origin, key: key.verifyingKey)
        )
        let segment = AuditLogSegment(checkpoint: signed, start: 0, records: leaves, proof: [])
        let verifier = AuditLogVerifier(keys: [keyID.value: key.verifyingKey])
        let bytes = leaves.reduce(0) { $0 + $1.count }
        var verifyRates: [Double] = []
        var hashRates: [Double] = []
        var parseRates: [Double] = []
        for _ in 0..<self.rounds {
            // Baseline: the leaf hashes alone, over the same bytes.
            var start = ContinuousClock.now
            var sink = 0
            for leaf in leaves { sink &+= Int(try tree.leafHash(leaf)[0]) }
            hashRates.append(Double(leaves.count) / (ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            let verified = try verifier.verify(segment)
            verifyRates.append(Double(leaves.count) / (ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            let parsed = try verified.records()
            parseRates.append(Double(leaves.count) / (ContinuousClock.now - start).seconds)
            // (The sink keeps the baseline's hashing from being optimised away.)
            guard parsed.count == leaves.count, sink >= 0 else { throw ValidationError("parsed \(parsed.count) of \(leaves.count) records") }
        }
        emitJSON([
            "name": "verify", "suite": suite.name, "records": leaves.count, "meanLeafBytes": bytes / leaves.count,
            "recordsPerSecond": median(verifyRates), "leafHashesPerSecond": median(hashRates),
            "ratio": median(verifyRates) / median(hashRates), "parsedPerSecond": median(parseRates),
        ])
    }

    func proofs(_ suite: CryptoSuite, url: DatabaseURL) async throws {
        var settings = HubConfiguration.Database()
        settings.url = url
        settings.maxConnections = 4
        settings.operationTimeoutSeconds = 300
        var logger = Logger(label: "hub-bench.audit")
        logger.logLevel = .warning
        let database = try Database(configuration: settings, logger: logger, metricsFactory: NOOPMetricsHandler.instance)
        let keyStore = try FileKeyStore(directory: self.keyDirectory, registry: .standard(preferring: suite))
        _ = try await keyStore.generateMissingKeys(for: suite)
        let log = AuditLog(database: database, suite: suite, keyStore: keyStore, origin: "bench.local/audit", logger: logger)
        let sizes = self.sizes.split(separator: ",").compactMap { Int($0) }.sorted()
        try await database.whileRunning {
            var size = try await log.size()
            for target in sizes where target > size {
                let start = ContinuousClock.now
                let grown = target - size
                while size < target {
                    let batch = min(10_000, target - size)
                    try await log.enqueue((size..<(size + batch)).map(Self.record))
                    while try await log.integrate(limit: 10_000) > 0 {}
                    size += batch
                }
                emitJSON(["name": "grow", "size": target, "recordsPerSecond": Double(grown) / (ContinuousClock.now - start).seconds])
            }
            _ = try await log.checkpoint()
            var generator = SystemRandomNumberGenerator()
            for target in sizes {
                let kinds: [(String, (Int) async throws -> [[UInt8]])] = [
                    ("inclusion", { try await log.inclusionProof(index: $0, size: target) }),
                    ("consistency", { try await log.consistencyProof(oldSize: $0, newSize: target) }),
                ]
                for (name, prove) in kinds {
                    var times: [Double] = []
                    var hashes = 0
                    for _ in 0..<max(25, self.rounds) {
                        // A random leaf index, or a random older size.
                        let point =
                            name == "inclusion" ? Int.random(in: 0..<target, using: &generator) : Int.random(in: 1..<target, using: &generator)
                        let start = ContinuousClock.now
                        let proof = try await prove(point)
                        times.append((ContinuousClock.now - start).seconds * 1000)
                        hashes = max(hashes, proof.count)
                    }
                    emitJSON([
                        "name": name, "size": target, "medianMs": median(times), "maxHashes": hashes, "bytes": hashes * suite.hash.digestByteCount,
                    ])
                }
            }
        }
    }
}

func emitJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
