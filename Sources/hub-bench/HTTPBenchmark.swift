import ArgumentParser
import Foundation
import HubClient
import HubSynthetic

/// Requests per second and latency of one FHIR interaction at a fixed number of keep-alive
/// HTTPS connections (each a closed loop: send, wait for the answer, send the next), on
/// patients picked at random from the loader's samples.
///
/// `wrk` measures the same requests with a bearer token (`hub-bench requests`); this tool also
/// measures a hospital system presenting its client certificate, which wrk cannot.
struct HTTPBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http", abstract: "Measure one FHIR interaction over HTTPS.")

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case createObservation = "create-observation"
        case readPatient = "read-patient"
        case searchIdentifier = "search-identifier"
        case searchObservation = "search-observation"
        /// Searches where other FHIR servers are known to stall.
        case searchManyCodes = "search-many-codes"
        case searchNot = "search-not"
        case sortByDate = "sort-by-date"
        case countPatients = "count-patients"
    }

    @OptionGroup var client: ClientOptions
    @Option(help: "What to measure: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).") var scenario: Scenario
    @Option(help: "Connections, each one request at a time.") var connections = 32
    @Option(help: "Seconds measured.") var seconds = 20.0
    @Option(help: "Seconds run first and not counted.") var warmup = 3.0
    @Option(help: "The loader's samples file.") var samples: String

    struct Sample: Sendable {
        var patientID: String
        var residentID: String
        var loinc: String
        var day: String

        /// The loader's samples file: patient id, resident ID number, LOINC code, day (tabs).
        static func read(_ path: String) throws -> [Sample] {
            let samples = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line -> Sample? in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard fields.count == 4, !fields[0].isEmpty else { return nil }
                return Sample(patientID: fields[0], residentID: fields[1], loinc: fields[2], day: fields[3])
            }
            guard !samples.isEmpty else { throw ValidationError("no samples in \(path)") }
            return samples
        }
    }

    func run() async throws {
        let samples = try Sample.read(self.samples)
        let hub = try self.client.client(connections: self.connections)
        let clock = ContinuousClock()
        let measureFrom = clock.now + .milliseconds(Int(self.warmup * 1000))
        let measureUntil = measureFrom + .milliseconds(Int(self.seconds * 1000))
        let scenario = self.scenario
        let (latencies, errors, firstError) = try await withThrowingTaskGroup(of: (LatencyRecorder, Int, String?).self) { group in
            for connection in 0..<self.connections {
                group.addTask {
                    var generator = SyntheticPatients(seed: UInt64(connection) &+ 77)
                    var latencies = LatencyRecorder()
                    var errors = 0
                    var firstError: String?
                    while clock.now < measureUntil {
                        let sample = samples[generator.next(samples.count)]
                        let (method, path, body, expected) = Self.request(scenario, sample, &generator)
                        let began = clock.now
                        let reply = try await hub.send(
                            method, path, headers: body == nil ? [] : [("Content-Type", "application/fhir+json")], body: body)
                        let ended = clock.now
                        guard began >= measureFrom, ended <= measureUntil else { continue }
                        latencies.record(ended - began)
                        if reply.status != expected {
                            errors += 1
                            if firstError == nil { firstError = "\(reply.status) \(reply.text.prefix(200))" }
                        }
                    }
                    return (latencies, errors, firstError)
                }
            }
            var merged = LatencyRecorder()
            var errors = 0
            var firstError: String?
            for try await (latencies, count, error) in group {
                merged.merge(latencies)
                errors += count
                firstError = firstError ?? error
            }
            return (merged, errors, firstError)
        }
        try await hub.shutdown()
        if let firstError { FileHandle.standardError.write(Data("hub-bench: \(errors) unexpected answers, e.g. \(firstError)\n".utf8)) }
        let requests = latencies.microseconds.count
        let summary: [String: Any] = [
            "name": scenario.rawValue, "connections": self.connections, "requests": requests, "errors": errors,
            "seconds": self.seconds, "requestsPerSecond": Double(requests) / self.seconds,
            "p50Ms": latencies.percentile(0.5), "p99Ms": latencies.percentile(0.99),
        ]
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func request(_ scenario: Scenario, _ sample: Sample, _ generator: inout SyntheticPatients) -> (String, String, [UInt8]?, Int) {
        switch scenario {
        case .createObservation:
            let test = LabTest.common[generator.next(LabTest.common.count)]
            let body = generator.observationJSON(test: test, patient: "Patient/\(sample.patientID)", day: generator.recentDay())
            return ("POST", "/fhir/Observation", Array(body.utf8), 201)
        case .readPatient:
            return ("GET", "/fhir/Patient/\(sample.patientID)", nil, 200)
        case .searchIdentifier:
            return ("GET", "/fhir/Patient?identifier=urn:health-hub:sid:resident-id%7C\(sample.residentID)", nil, 200)
        case .searchObservation:
            return ("GET", "/fhir/Observation?patient=\(sample.patientID)&code=http://loinc.org%7C\(sample.loinc)&date=ge\(sample.day)", nil, 200)
        case .searchManyCodes:
            // 100 OR'd codes (the most a parameter takes): the loaded LOINC codes among others.
            let codes = LabTest.common.map(\.loinc) + (0..<(100 - LabTest.common.count)).map { "\(10_000 + $0 * 7)-\($0 % 10)" }
            return ("GET", "/fhir/Observation?patient=\(sample.patientID)&code=\(codes.joined(separator: ","))", nil, 200)
        case .searchNot:
            return ("GET", "/fhir/Observation?code:not=\(sample.loinc)&patient=\(sample.patientID)", nil, 200)
        case .sortByDate:
            return ("GET", "/fhir/Observation?_sort=-date&_count=20", nil, 200)
        case .countPatients:
            return ("GET", "/fhir/Patient?gender=female&_summary=count", nil, 200)
        }
    }
}
