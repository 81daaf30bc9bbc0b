import Foundation

/// Laplace noise for counts (Dwork et al.): a count released as `count + Lap(sensitivity/ε)`,
/// rounded and floored at zero, is ε-differentially private with respect to one patient when
/// adding or removing that patient changes the counts by at most `sensitivity` in total.
///
/// Rounding to whole numbers also blunts the floating-point attack on the textbook sampler
/// (Mironov 2012) without removing it; docs/open-data.md states the limit.
public struct LaplaceMechanism: Sendable, Equatable {
    public let epsilon: Double
    public let sensitivity: Double

    /// Nil unless both are positive and finite.
    public init?(epsilon: Double, sensitivity: Double) {
        guard epsilon.isFinite, sensitivity.isFinite, epsilon > 0, sensitivity > 0 else { return nil }
        self.epsilon = epsilon
        self.sensitivity = sensitivity
    }

    /// The noise's scale b: its standard deviation is b√2.
    public var scale: Double { self.sensitivity / self.epsilon }

    /// One draw of Lap(0, b), by inverting the distribution function.
    public func noise(using generator: inout some RandomNumberGenerator) -> Double {
        var u = 0.0
        repeat { u = Double.random(in: -0.5..<0.5, using: &generator) } while u == -0.5
        let magnitude = -self.scale * log(1 - 2 * abs(u))
        return u < 0 ? -magnitude : magnitude
    }

    /// `count` with noise, rounded, at least zero.
    public func noisyCount(_ count: Int, using generator: inout some RandomNumberGenerator) -> Int {
        max(0, Int((Double(count) + self.noise(using: &generator)).rounded()))
    }
}
