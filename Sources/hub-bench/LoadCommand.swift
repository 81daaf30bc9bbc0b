import ArgumentParser
import Foundation
import HubClient
import HubSynthetic
import Synchronization

/// Loads synthetic patients through the FHIR API as transaction Bundles, the way a hospital's
/// integration engine would: each Bundle holds a few patients, and some of them an outpatient
/// Encounter with laboratory Observations, all linked through `urn:uuid:` references.
///
/// Prints one JSON line with the rate; writes a sample of what it created (`--samples`) for
/// the request benchmark to pick from.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Load synthetic patients by transaction Bundles.")

    @OptionGroup var client: ClientOptions
    @Option(help: "Patients to create.") var patients = 10_000
    @Option(help: "Number of the first patient (resident IDs follow from it; use to add more later).") var first = 0
    @Option(help: "Patients per transaction Bundle.") var bundlePatients = 50
    @Option(help: "One patient in this many also gets an Encounter with Observations.") var recordsEvery = 10
    @Option(help: "Observations for such a patient.") var observations = 4
    @Option(help: "Bundles in flight at once.") var concurrency = 4
    @Option(help: "Seed of the generator.") var seed: UInt64 = 2026
    @Option(help: "File to write samples to (patient id, resident ID, LOINC code, day), one line per Bundle.") var samples: String?

    func run() async throws {
        let hub = try self.client.client(connections: self.concurrency)
        let bundles = (self.patients + self.bundlePatients - 1) / self.bundlePatients
        let next = Counter()
        let created = Counter()
        let clock = ContinuousClock()
        let start = clock.now
        let plan = self
        let progress = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(15))
                let done = created.value.load(ordering: .relaxed)
                let rate = Double(done) / (clock.now - start).seconds
                FileHandle.standardError.write(Data("  \(done) resources, \(Int(rate))/s\n".utf8))
            }
        }
        let results = try await withThrowingTaskGroup(of: (LatencyRecorder, [String]).self) { group in
            for _ in 0..<self.concurrency {
                group.addTask {
                    var latencies = LatencyRecorder()
                    var sampleLines: [String] = []
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        guard index < bundles else { break }
                        let (body, count, sample) = plan.bundle(index)
                        let began = clock.now
                        let reply = try await hub.send("POST", "/fhir", headers: [("Content-Type", "application/fhir+json")], body: Array(body.utf8))
                        latencies.record(clock.now - began)
                        guard reply.status == 200 else {
                            throw ValidationError("bundle \(index) was refused with \(reply.status): \(reply.text.prefix(300))")
                        }
                        created.value.add(count, ordering: .relaxed)
                        sampleLines.append(try Self.sampleLine(sample, reply: reply))
                    }
                    return (latencies, sampleLines)
                }
            }
            var merged = LatencyRecorder()
            var lines: [String] = []
            for try await (latencies, sampleLines) in group {
                merged.merge(latencies)
                lines += sampleLines
            }
            return (merged, lines)
        }
        progress.cancel()
        let elapsed = (clock.now - start).seconds
        try await hub.shutdown()
        if let samples = self.samples {
            try (results.1.joined(separator: "\n") + "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        }
        let resources = created.value.load(ordering: .relaxed)
        let summary: [String: Any] = [
            "name": "load", "patients": self.patients, "resources": resources, "seconds": elapsed,
            "resourcesPerSecond": Double(resources) / elapsed, "bundleP50Ms": results.0.percentile(0.5),
            "bundleP99Ms": results.0.percentile(0.99), "bundlePatients": self.bundlePatients, "concurrency": self.concurrency,
        ]
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    struct Sample {
        var residentID: String
        var loinc: String
        var day: String
    }

    /// Bundle `index`: its JSON, how many resources it creates, and what to sample from it (its
    /// first patient, who always has records).
    func bundle(_ index: Int) -> (String, Int, Sample) {
        var generator = SyntheticPatients(seed: self.seed &+ UInt64(index))
        var entries: [String] = []
        var sample = Sample(residentID: "", loinc: "", day: "")
        let firstNumber = self.first + index * self.bundlePatients
        for number in firstNumber..<min(firstNumber + self.bundlePatients, self.first + self.patients) {
            let person = generator.person(number: number)
            let patient = "urn:uuid:\(UUID().uuidString.lowercased())"
            entries.append(Self.entry(patient, "Patient", generator.patientJSON(person, home: true)))
            guard number == firstNumber || number % self.recordsEvery == 0 else { continue }
            let day = generator.recentDay()
            let encounter = "urn:uuid:\(UUID().uuidString.lowercased())"
            entries.append(Self.entry(encounter, "Encounter", generator.encounterJSON(patient: patient, day: day)))
            for offset in 0..<self.observations {
                let test = LabTest.common[(number + offset) % LabTest.common.count]
                entries.append(
                    Self.entry(nil, "Observation", generator.observationJSON(test: test, patient: patient, encounter: encounter, day: day)))
                if number == firstNumber, offset == 0 {
                    sample = Sample(residentID: person.residentID, loinc: test.loinc, day: day)
                }
            }
        }
        let body = #"{"resourceType":"Bundle","type":"transaction","entry":["# + entries.joined(separator: ",") + "]}"
        return (body, entries.count, sample)
    }

    static func entry(_ fullURL: String?, _ type: String, _ resource: String) -> String {
        let url = fullURL.map { #""fullUrl":"\#($0)","# } ?? ""
        return #"{\#(url)"resource":\#(resource),"request":{"method":"POST","url":"\#(type)"}}"#
    }

    /// `patient id, resident ID, LOINC code, day` of the Bundle's first patient (its first
    /// entry's location in the transaction-response).
    static func sampleLine(_ sample: Sample, reply: HubClient.Reply) throws -> String {
        let response = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        let first = (response?["entry"] as? [[String: Any]])?.first?["response"] as? [String: Any]
        let location = (first?["location"] as? String) ?? ""
        let id = location.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        return [id, sample.residentID, sample.loinc, sample.day].joined(separator: "\t")
    }
}

/// A counter shared by the loader's tasks.
final class Counter: Sendable {
    let value = Atomic(0)
}
