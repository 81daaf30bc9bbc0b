/// The body of the hub's `/readyz`, as hubctl reads it.
public struct ReadinessReport: Codable, Sendable, Equatable {
    public struct Check: Codable, Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String
    }

    public var status: String
    public var checks: [Check]
}
