import ArgumentParser
import Foundation
@_spi(Benchmarks) import HubCrypto

/// Crypto throughput of the hub's bindings, printed as JSON lines for ops/bench/crypto, which
/// sets them beside `openssl speed` measured in the same run.
///
/// Each figure is the median of N rounds of S seconds. `--only` runs the measurements whose name
/// starts with NAME, so that the script can interleave them with `openssl speed` (both then see
/// the same machine conditions).
struct CryptoBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crypto", abstract: "Crypto throughput as JSON lines.")

    @Option(help: "Seconds per round.") var seconds = 1.0
    @Option(help: "Rounds per figure (the median is reported).") var rounds = 5
    @Option(help: "Only the measurements whose name starts with this.") var only = ""

    func run() throws {
        try runCrypto(Plan(seconds: self.seconds, rounds: self.rounds, only: self.only))
    }
}

struct Measurement: Encodable {
    var name: String
    var bytes: Int?
    var unit: String
    var median: Double
    var rounds: [Double]
}

/// Runs `body` repeatedly for `seconds`, `rounds` times; returns operations per second of each round.
func measure(seconds: Double, rounds: Int, _ body: () throws -> Void) rethrows -> [Double] {
    var results: [Double] = []
    for _ in 0..<rounds {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        var operations = 0
        var now = start
        while now < deadline {
            for _ in 0..<16 { try body() }
            operations += 16
            now = clock.now
        }
        let elapsed = now - start
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        results.append(Double(operations) / elapsedSeconds)
    }
    return results
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func emit(_ measurement: Measurement) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    if let data = try? encoder.encode(measurement) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// How long and how often to measure, and which measurements (by name prefix; "" for all).
struct Plan {
    var seconds = 1.0
    var rounds = 5
    var only = ""

    func selected(_ name: String) -> Bool { self.only.isEmpty || name.hasPrefix(self.only) }

    func throughput(_ name: String, bytes: Int, _ body: () throws -> Void) rethrows {
        guard self.selected(name) else { return }
        let perSecond = try measure(seconds: self.seconds, rounds: self.rounds, body).map { $0 * Double(bytes) }
        emit(Measurement(name: name, bytes: bytes, unit: "bytes/s", median: median(perSecond), rounds: perSecond))
    }

    func operations(_ name: String, _ body: () throws -> Void) rethrows {
        guard self.selected(name) else { return }
        let perSecond = try measure(seconds: self.seconds, rounds: self.rounds, body)
        emit(Measurement(name: name, bytes: nil, unit: "ops/s", median: median(perSecond), rounds: perSecond))
    }
}

func runCrypto(_ plan: Plan) throws {
    let seconds = plan.seconds
    let rounds = plan.rounds
    let sm3 = try SM3()
    let sm4gcm = try SM4GCM()
    let sm4ctr = try SM4CTRBinding()
    let aes = AES256GCM()
    let sm4Key = SecretKey.random(byteCount: 16)
    let aesKey = SecretKey.random(byteCount: 32)
    let nonce = [UInt8](repeating: 7, count: 12)
    for size in [1024, 16384] {
        let message = [UInt8](repeating: 0x5A, count: size)
        var output = [UInt8](repeating: 0, count: size)
        try plan.throughput("sm3", bytes: size) { _ = try sm3.digest(message) }
        try plan.throughput("sm4-ctr", bytes: size) {
            try sm4ctr.encrypt(message, into: &output, key: sm4Key, iv: [UInt8](repeating: 0, count: 16))
        }
        try plan.throughput("sm4-gcm", bytes: size) {
            _ = try sm4gcm.seal(message, key: sm4Key, nonce: nonce, additionalData: [])
        }
        try plan.throughput("aes-256-gcm", bytes: size) {
            _ = try aes.seal(message, key: aesKey, nonce: nonce, additionalData: [])
        }
    }

    // Sealing one 2 KiB record with the intl suite: AEAD + header + fresh nonce, as stored.
    let record = [UInt8](repeating: 0x41, count: 2048)
    let keyID = try KeyID("dek-benchmark")
    let context = Array("Observation/123".utf8)
    for (name, cipher, key) in [("seal-2KiB-intl", aes as any AuthenticatedCipher, aesKey), ("seal-2KiB-sm", sm4gcm, sm4Key)]
    where plan.selected(name) {
        let rate = try measure(seconds: seconds, rounds: rounds) {
            _ = try SealedBox.seal(record, cipher: cipher, key: key, keyID: keyID, context: context).serialized
        }
        let microseconds = rate.map { 1e6 / $0 }
        emit(Measurement(name: name, bytes: 2048, unit: "µs", median: median(microseconds), rounds: microseconds))
    }

    let message = [UInt8](repeating: 0x33, count: 32)
    for scheme in [SM2Signature() as any SignatureScheme, P256Signature()] {
        let key = try scheme.generateSigningKey()
        let signature = try key.signature(for: message)
        let name = scheme.algorithm == .sm2WithSM3 ? "sm2" : "ecdsa-p256"
        plan.operations("\(name)-sign") { _ = try? key.signature(for: message) }
        plan.operations("\(name)-verify") { _ = key.verifyingKey.isValidSignature(signature, for: message) }
    }
}
