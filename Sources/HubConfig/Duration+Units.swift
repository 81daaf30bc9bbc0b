extension Duration {
    /// Whole nanoseconds, for metrics recorders and clients that take integers.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole milliseconds, for log lines.
    public var wholeMilliseconds: Int64 { self.wholeNanoseconds / 1_000_000 }
}
