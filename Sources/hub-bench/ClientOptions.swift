import ArgumentParser
import HubClient

/// How the benchmark tools reach the hub: HTTPS with a client certificate (clinical routes
/// require one).
struct ClientOptions: ParsableArguments {
    @Option(help: "The hub's base URL.") var url = "https://127.0.0.1:8443"
    @Option(help: "CA certificate (PEM) to trust.") var ca: String
    @Option(help: "Client certificate (PEM).") var cert: String
    @Option(help: "Client key (PEM).") var key: String

    func client(connections: Int) throws -> HubClient {
        var configuration = HubClient.Configuration(serverURL: self.url, caCertificate: self.ca, clientCertificate: self.cert, clientKey: self.key)
        configuration.maximumConnections = connections
        configuration.timeout = .seconds(120)
        return try HubClient(configuration: configuration)
    }
}

/// Latencies of many requests, reported as percentiles.
struct LatencyRecorder {
    private(set) var microseconds: [Int] = []

    mutating func record(_ duration: Duration) {
        self.microseconds.append(Int(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }

    mutating func merge(_ other: LatencyRecorder) {
        self.microseconds += other.microseconds
    }

    /// The latency below which `fraction` of the requests finished, in milliseconds.
    func percentile(_ fraction: Double) -> Double {
        guard !self.microseconds.isEmpty else { return 0 }
        let sorted = self.microseconds.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1000
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
