import ArgumentParser
import HubSynthetic

/// Writes requests of one scenario for `wrk` (ops/bench/wrk/fhir.lua), one per line:
/// method, path, expected status and body (or nothing), separated by tabs — the same requests
/// `hub-bench http` sends, so both tools measure the same thing.
struct RequestFile: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "requests", abstract: "Write one scenario's requests for wrk.")

    @Option(help: "What to measure.") var scenario: HTTPBenchmark.Scenario
    @Option(help: "The loader's samples file.") var samples: String
    @Option(help: "Requests to write (wrk picks among them at random).") var count = 5_000

    func run() throws {
        let samples = try HTTPBenchmark.Sample.read(self.samples)
        var generator = SyntheticPatients(seed: 1_601)
        var lines: [String] = []
        for _ in 0..<self.count {
            let (method, path, body, expected) = HTTPBenchmark.request(self.scenario, samples[generator.next(samples.count)], &generator)
            // JSON: raw tabs and line breaks can only be whitespace between tokens (in strings
            // they are escaped), so a body becomes one line without changing its meaning.
            let text = String(decoding: body ?? [], as: UTF8.self).replacing("\n", with: " ").replacing("\t", with: " ")
            lines.append("\(method)\t\(path)\t\(expected)\t\(text)")
        }
        print(lines.joined(separator: "\n"))
    }
}
