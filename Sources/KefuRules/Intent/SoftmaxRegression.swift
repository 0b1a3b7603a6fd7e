#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Multinomial logistic regression (softmax) over sparse TF-IDF rows, trained by full-batch
/// L-BFGS with an L2 penalty.
///
/// Objective (the same as scikit-learn's `LogisticRegression(C:)` divided by `C·N`, so `C`
/// means the same thing in both):
///
///     L(W, b) = (1/Σwᵢ) Σᵢ wᵢ · (log Σₖ exp(zᵢₖ) − zᵢ,yᵢ) + (1 / (2·C·N)) ‖W‖²,   zᵢ = W·xᵢ + b
///
/// The biases `b` are not penalised (a rare intent keeps its prior); `wᵢ` are 1, or with
/// balanced class weights N / (K · nₖ).
///
/// Trade-offs:
/// - Full-batch L-BFGS rather than SGD/Adam: the objective is smooth and strictly convex in
///   `W`, so it has one optimum and L-BFGS reaches it in a few dozen to a couple of hundred
///   gradient evaluations with no learning rate to tune and no shuffling. Every sum runs in a
///   fixed order, so two trainings on the same examples give bit-identical weights.
/// - Weights are stored feature-major (`W[f·K + k]`): a sparse row touches K consecutive
///   doubles per non-zero, both in the forward pass and in the gradient.
/// - Doubles throughout: the model is small (features × intents) and single precision would
///   make the line search's sufficient-decrease test noisy near the optimum.
struct SoftmaxRegression: Sendable {
    let classCount: Int
    let featureCount: Int
    /// Feature-major weights, `featureCount × classCount`.
    private(set) var weights: [Double]
    private(set) var bias: [Double]
    /// Iterations L-BFGS ran (for tests and the benchmark).
    private(set) var iterations = 0

    struct Settings {
        var inverseRegularization: Double
        var balancedClassWeights: Bool
        var maxIterations: Int
        var tolerance: Double
        var memory = 10
    }

    init(matrix: IntentMatrix, labels: [Int], classCount: Int, featureCount: Int, settings: Settings) {
        precondition(labels.count == matrix.rows)
        self.classCount = classCount
        self.featureCount = featureCount
        let k = classCount
        let n = labels.count
        let dimension = featureCount * k + k
        weights = Array(repeating: 0, count: featureCount * k)
        bias = Array(repeating: 0, count: k)
        guard k >= 2, n > 0 else { return }

        var sampleWeights = [Double](repeating: 1, count: n)
        if settings.balancedClassWeights {
            var counts = [Int](repeating: 0, count: k)
            for y in labels { counts[y] += 1 }
            let present = counts.filter { $0 > 0 }.count
            for i in 0..<n { sampleWeights[i] = Double(n) / (Double(present) * Double(counts[labels[i]])) }
        }
        let lambda = 1 / (max(settings.inverseRegularization, 1e-12) * Double(n))
        let problem = Problem(matrix: matrix, labels: labels, sampleWeights: sampleWeights,
                              classCount: k, featureCount: featureCount, lambda: lambda)
        var x = [Double](repeating: 0, count: dimension)
        iterations = LBFGS.minimize(&x, memory: settings.memory, maxIterations: settings.maxIterations,
                                    tolerance: settings.tolerance) { x, g in problem.evaluate(x, gradient: &g) }
        weights = Array(x[0..<(featureCount * k)])
        bias = Array(x[(featureCount * k)...])
    }

    /// The training objective and its gradient.
    private struct Problem {
        let matrix: IntentMatrix
        let labels: [Int]
        let sampleWeights: [Double]
        let classCount: Int
        let featureCount: Int
        let lambda: Double

        func evaluate(_ x: [Double], gradient: inout [Double]) -> Double {
            let k = classCount
            let weightCount = featureCount * k
            let totalWeight = sampleWeights.reduce(0, +)
            var loss = 0.0
            x.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { g in
                    for i in 0..<g.count { g[i] = 0 }
                    matrix.rowStart.withUnsafeBufferPointer { rowStart in
                    matrix.columns.withUnsafeBufferPointer { columns in
                    matrix.values.withUnsafeBufferPointer { values in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { z in
                        for i in 0..<labels.count {
                            for c in 0..<k { z[c] = x[weightCount + c] }
                            let start = rowStart[i], end = rowStart[i + 1]
                            for j in start..<end {
                                let base = Int(columns[j]) * k
                                let v = values[j]
                                for c in 0..<k { z[c] += v * x[base + c] }
                            }
                            var top = z[0]
                            for c in 1..<k where z[c] > top { top = z[c] }
                            let y = labels[i]
                            let shiftedTarget = z[y] - top
                            var sum = 0.0
                            for c in 0..<k {
                                z[c] = exp(z[c] - top)
                                sum += z[c]
                            }
                            let wi = sampleWeights[i]
                            // −log p_y = log Σ exp(z) − z_y, computed with the shift `top`.
                            loss += wi * (log(sum) - shiftedTarget)
                            let scale = wi / (totalWeight * sum)
                            for c in 0..<k { z[c] *= scale }
                            z[y] -= wi / totalWeight
                            // z now holds the residual ∂L/∂z for this example.
                            for j in start..<end {
                                let base = Int(columns[j]) * k
                                let v = values[j]
                                for c in 0..<k { g[base + c] += v * z[c] }
                            }
                            for c in 0..<k { g[weightCount + c] += z[c] }
                        }
                    }
                    }
                    }
                    }
                    var penalty = 0.0
                    for i in 0..<weightCount {
                        penalty += x[i] * x[i]
                        g[i] += lambda * x[i]
                    }
                    loss = loss / totalWeight + 0.5 * lambda * penalty
                }
            }
            return loss
        }
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search; deterministic.
///
/// Trade-off: backtracking instead of a Moré–Thuente (strong Wolfe) search keeps this short;
/// curvature pairs with sᵀy ≤ 0 are skipped, which keeps the inverse-Hessian estimate positive
/// definite. For this convex objective the unit step is accepted almost always.
enum LBFGS {
    /// Minimises `f` from `x` in place; returns the number of iterations.
    /// Stops when ‖∇f‖∞ ≤ tolerance, when an iteration lowers f by less than
    /// tolerance · max(1, |f|) / 100, or after `maxIterations`.
    static func minimize(_ x: inout [Double], memory: Int, maxIterations: Int, tolerance: Double,
                         _ f: ([Double], inout [Double]) -> Double) -> Int {
        let d = x.count
        var g = [Double](repeating: 0, count: d)
        var fx = f(x, &g)
        var s: [[Double]] = []
        var y: [[Double]] = []
        var rho: [Double] = []
        var alpha = [Double](repeating: 0, count: memory)
        var direction = [Double](repeating: 0, count: d)
        var candidate = [Double](repeating: 0, count: d)
        var candidateGradient = [Double](repeating: 0, count: d)
        var iteration = 0

        func dot(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for i in 0..<a.count { sum += a[i] * b[i] }
            return sum
        }
        func maxAbs(_ a: [Double]) -> Double {
            var m = 0.0
            for v in a { m = max(m, abs(v)) }
            return m
        }

        while iteration < maxIterations {
            if maxAbs(g) <= tolerance { break }
            // Two-loop recursion: direction = −H·g.
            for i in 0..<d { direction[i] = -g[i] }
            let pairs = s.count
            if pairs > 0 {
                for p in stride(from: pairs - 1, through: 0, by: -1) {
                    alpha[p] = rho[p] * dot(s[p], direction)
                    let a = alpha[p]
                    for i in 0..<d { direction[i] -= a * y[p][i] }
                }
                let last = pairs - 1
                let gamma = dot(s[last], y[last]) / dot(y[last], y[last])
                for i in 0..<d { direction[i] *= gamma }
                for p in 0..<pairs {
                    let beta = rho[p] * dot(y[p], direction)
                    let c = alpha[p] - beta
                    for i in 0..<d { direction[i] += c * s[p][i] }
                }
            }
            var slope = dot(g, direction)
            if slope >= 0 {
                // Not a descent direction (should not happen): restart from steepest descent.
                s.removeAll(); y.removeAll(); rho.removeAll()
                for i in 0..<d { direction[i] = -g[i] }
                slope = dot(g, direction)
            }
            var step = pairs == 0 ? min(1, 1 / maxAbs(g)) : 1
            var fNew = fx
            var accepted = false
            for _ in 0..<40 {
                for i in 0..<d { candidate[i] = x[i] + step * direction[i] }
                fNew = f(candidate, &candidateGradient)
                if fNew <= fx + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step *= 0.5
            }
            iteration += 1
            if !accepted { break }
            var sNew = [Double](repeating: 0, count: d)
            var yNew = [Double](repeating: 0, count: d)
            for i in 0..<d {
                sNew[i] = candidate[i] - x[i]
                yNew[i] = candidateGradient[i] - g[i]
            }
            let sy = dot(sNew, yNew)
            if sy > 1e-12 {
                if s.count == memory {
                    s.removeFirst(); y.removeFirst(); rho.removeFirst()
                }
                s.append(sNew); y.append(yNew); rho.append(1 / sy)
            }
            swap(&x, &candidate)
            swap(&g, &candidateGradient)
            let decrease = fx - fNew
            fx = fNew
            if decrease <= tolerance * max(1, abs(fx)) / 100 { break }
        }
        return iteration
    }
}
