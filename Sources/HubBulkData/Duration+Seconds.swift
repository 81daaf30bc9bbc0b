extension Duration {
    /// The duration in seconds, as the job tables' intervals are bound.
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
