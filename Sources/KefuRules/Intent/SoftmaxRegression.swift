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
        let mem = getenv("KEFU_MEM").map { Int(String(cString: $0))! } ?? settings.memory
        let clock = ContinuousClock(); let t0 = clock.now
        iterations = LBFGS.minimize(&x, memory: mem, maxIterations: settings.maxIterations,
                                    tolerance: settings.tolerance) { x, g in problem.evaluate(x, gradient: &g) }
        if getenv("KEFU_DEBUG_LBFGS") != nil { print("DEBUG lbfgs n=\(n) k=\(k) f=\(featureCount) it=\(iterations) evals=\(problem.counter.n) t=\(clock.now - t0)") }
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
        let counter = Counter()

        func evaluate(_ x: [Double], gradient: inout [Double]) -> Double {
            let k = classCount
            let weightCount = featureCount * k
            let totalWeight = sampleWeights.reduce(0, +)
            var loss = 0.0
            counter.n += 1
            x.withUnsafeBufferPointer { xb in
                gradient.withUnsafeMutableBufferPointer { gb in
                    let x = xb.baseAddress!, g = gb.baseAddress!
                    g.update(repeating: 0, count: gb.count)
                    let xBias = x + weightCount, gBias = g + weightCount
                    matrix.rowStart.withUnsafeBufferPointer { rowStart in
                    matrix.columns.withUnsafeBufferPointer { columns in
                    matrix.values.withUnsafeBufferPointer { values in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { zb in
                        let z = zb.baseAddress!
                        for i in 0..<labels.count {
                            for c in 0..<k { z[c] = xBias[c] }
                            let start = rowStart[i], end = rowStart[i + 1]
                            for j in start..<end {
                                let row = x + Int(columns[j]) &* k
                                let v = values[j]
                                for c in 0..<k { z[c] += v * row[c] }
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
                                let row = g + Int(columns[j]) &* k
                                let v = values[j]
                                for c in 0..<k { row[c] += v * z[c] }
                            }
                            for c in 0..<k { gBias[c] += z[c] }
                        }
                    }
                    }
                    }
                    }
                    // Penalty, with four partial sums (fixed order) so the loop is not bound by
                    // the latency of one running sum.
                    var p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0
                    var i = 0
                    while i + 4 <= weightCount {
                        p0 += x[i] * x[i]
                        p1 += x[i + 1] * x[i + 1]
                        p2 += x[i + 2] * x[i + 2]
                        p3 += x[i + 3] * x[i + 3]
                        g[i] += lambda * x[i]
                        g[i + 1] += lambda * x[i + 1]
                        g[i + 2] += lambda * x[i + 2]
                        g[i + 3] += lambda * x[i + 3]
                        i += 4
                    }
                    while i < weightCount {
                        p0 += x[i] * x[i]
                        g[i] += lambda * x[i]
                        i += 1
                    }
                    loss = loss / totalWeight + 0.5 * lambda * ((p0 + p1) + (p2 + p3))
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
/// definite. For this convex objective the unit step is accepted almost always. The history
/// lives in two flat ring buffers (memory × dimension), so an iteration allocates nothing.
enum LBFGS {
    /// Minimises `f` from `x` in place; returns the number of iterations.
    /// Stops when ‖∇f‖∞ ≤ tolerance, when an iteration lowers f by less than
    /// tolerance · max(1, |f|) / 100, or after `maxIterations`.
    static func minimize(_ x: inout [Double], memory: Int, maxIterations: Int, tolerance: Double,
                         _ f: ([Double], inout [Double]) -> Double) -> Int {
        let d = x.count
        let m = max(memory, 1)
        var g = [Double](repeating: 0, count: d)
        var fx = f(x, &g)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        defer { s.deallocate(); y.deallocate() }
        var rho = [Double](repeating: 0, count: m)
        var alpha = [Double](repeating: 0, count: m)
        var pairs = 0, newest = -1  // ring buffer: slots newest, newest-1, … (mod m)
        var direction = [Double](repeating: 0, count: d)
        var candidate = [Double](repeating: 0, count: d)
        var candidateGradient = [Double](repeating: 0, count: d)
        var iteration = 0

        /// Four interleaved partial sums: a single running sum is bound by the add latency
        /// (the compiler may not reassociate floating point); the order is still fixed.
        @inline(__always)
        func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>) -> Double {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            while i + 4 <= d {
                s0 += a[i] * b[i]
                s1 += a[i + 1] * b[i + 1]
                s2 += a[i + 2] * b[i + 2]
                s3 += a[i + 3] * b[i + 3]
                i += 4
            }
            while i < d {
                s0 += a[i] * b[i]
                i += 1
            }
            return (s0 + s1) + (s2 + s3)
        }
        @inline(__always)
        func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Double>) -> Double {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            while i + 4 <= d {
                s0 += Double(a[i]) * b[i]
                s1 += Double(a[i + 1]) * b[i + 1]
                s2 += Double(a[i + 2]) * b[i + 2]
                s3 += Double(a[i + 3]) * b[i + 3]
                i += 4
            }
            while i < d {
                s0 += Double(a[i]) * b[i]
                i += 1
            }
            return (s0 + s1) + (s2 + s3)
        }
        @inline(__always)
        func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Double {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            while i + 4 <= d {
                s0 += Double(a[i]) * Double(b[i])
                s1 += Double(a[i + 1]) * Double(b[i + 1])
                s2 += Double(a[i + 2]) * Double(b[i + 2])
                s3 += Double(a[i + 3]) * Double(b[i + 3])
                i += 4
            }
            while i < d {
                s0 += Double(a[i]) * Double(b[i])
                i += 1
            }
            return (s0 + s1) + (s2 + s3)
        }
        @inline(__always)
        func maxAbs(_ a: UnsafePointer<Double>) -> Double {
            var m0 = 0.0, m1 = 0.0
            var i = 0
            while i + 2 <= d {
                let v0 = a[i].magnitude, v1 = a[i + 1].magnitude
                if v0 > m0 { m0 = v0 }
                if v1 > m1 { m1 = v1 }
                i += 2
            }
            if i < d, a[i].magnitude > m0 { m0 = a[i].magnitude }
            return m0 > m1 ? m0 : m1
        }

        while iteration < maxIterations {
            let gradientNorm = g.withUnsafeBufferPointer { maxAbs($0.baseAddress!) }
            if gradientNorm <= tolerance { break }
            var slope = 0.0
            g.withUnsafeBufferPointer { gp in
                direction.withUnsafeMutableBufferPointer { dp in
                    let g = gp.baseAddress!, q = dp.baseAddress!
                    // Two-loop recursion: q = −H·g.
                    for i in 0..<d { q[i] = -g[i] }
                    if pairs > 0 {
                        for back in 0..<pairs {
                            let p = (newest - back + m) % m
                            let a = rho[p] * dot(s + p * d, q)
                            alpha[p] = a
                            let yp = y + p * d
                            for i in 0..<d { q[i] -= a * Double(yp[i]) }
                        }
                        let sn = s + newest * d, yn = y + newest * d
                        let gamma = dot(sn, yn) / dot(yn, yn)
                        for i in 0..<d { q[i] *= gamma }
                        for forward in stride(from: pairs - 1, through: 0, by: -1) {
                            let p = (newest - forward + m) % m
                            let c = alpha[p] - rho[p] * dot(y + p * d, q)
                            let sp = s + p * d
                            for i in 0..<d { q[i] += c * Double(sp[i]) }
                        }
                    }
                    slope = dot(g, q)
                    if slope >= 0 {
                        // Not a descent direction (should not happen): restart from steepest descent.
                        pairs = 0
                        for i in 0..<d { q[i] = -g[i] }
                        slope = dot(g, q)
                    }
                }
            }
            var step = pairs == 0 ? min(1, 1 / gradientNorm) : 1
            var fNew = fx
            var accepted = false
            for _ in 0..<40 {
                x.withUnsafeBufferPointer { xp in
                    direction.withUnsafeBufferPointer { dp in
                        candidate.withUnsafeMutableBufferPointer { cp in
                            for i in 0..<d { cp[i] = xp[i] + step * dp[i] }
                        }
                    }
                }
                fNew = f(candidate, &candidateGradient)
                if fNew <= fx + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step *= 0.5
            }
            iteration += 1
            if !accepted { break }
            let slot = (newest + 1) % m
            let sy: Double = x.withUnsafeBufferPointer { xp in
                candidate.withUnsafeBufferPointer { cp in
                    g.withUnsafeBufferPointer { gp in
                        candidateGradient.withUnsafeBufferPointer { cgp in
                            let sp = s + slot * d, yp = y + slot * d
                            var sy = 0.0
                            for i in 0..<d {
                                sp[i] = Float(cp[i] - xp[i])
                                yp[i] = Float(cgp[i] - gp[i])
                                sy += Double(sp[i]) * Double(yp[i])
                            }
                            return sy
                        }
                    }
                }
            }
            if sy > 1e-12 {
                newest = slot
                rho[slot] = 1 / sy
                pairs = min(pairs + 1, m)
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

final class Counter: @unchecked Sendable { var n = 0 }
