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
/// balanced class weights N / (K · nₖ) (K = intents with examples, nₖ = examples of the intent).
///
/// Trade-offs:
/// - Full-batch L-BFGS rather than SGD/Adam: the objective is smooth and strictly convex in
///   `W`, so it has one optimum and L-BFGS reaches it in a few dozen gradient evaluations with
///   no learning rate to tune and no shuffling. Every sum runs in a fixed order, so two
///   trainings on the same examples give bit-identical weights.
/// - Weights are stored feature-major (`W[f·K + k]`): a sparse row touches K consecutive
///   doubles per non-zero, both in the forward pass and in the gradient.
/// - The cost of a training run is dominated by passes over the dense parameter vector
///   (features × intents, ~100 k doubles for 2,000 examples), not by the sparse data; hence a
///   short L-BFGS memory (5 pairs) kept in single precision (see `LBFGS`), and an early stop
///   (`Settings.tolerance`) once the rankings no longer move.
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
        /// Stop when ‖∇L‖∞ has fallen to this fraction of its value at W = 0.
        var tolerance: Double
        var memory = 5
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

        var classWeight = [Double](repeating: 1, count: k)
        if settings.balancedClassWeights {
            var counts = [Int](repeating: 0, count: k)
            for y in labels { counts[y] += 1 }
            let present = counts.filter { $0 > 0 }.count
            for c in 0..<k where counts[c] > 0 {
                classWeight[c] = Double(n) / (Double(present) * Double(counts[c]))
            }
        }
        // Identical examples (same label, same row) become one row with a larger weight: the
        // objective is the same sum, and customer-service example lists repeat themselves
        // (谢谢, 好的) more than one would think — a fifth of the rows in the CrossWOZ corpus.
        let (unique, uniqueLabels, multiplicity) = Self.merge(matrix, labels: labels)
        let sampleWeights = uniqueLabels.indices.map { classWeight[uniqueLabels[$0]] * Double(multiplicity[$0]) }
        let lambda = 1 / (max(settings.inverseRegularization, 1e-12) * Double(n))
        let problem = Problem(matrix: unique, labels: uniqueLabels, sampleWeights: sampleWeights,
                              classCount: k, featureCount: featureCount, lambda: lambda)
        var x = [Double](repeating: 0, count: dimension)
        iterations = LBFGS.minimize(&x, memory: settings.memory, maxIterations: settings.maxIterations,
                                    tolerance: settings.tolerance) { x, g in problem.evaluate(x, gradient: &g) }
        weights = Array(x[0..<(featureCount * k)])
        bias = Array(x[(featureCount * k)...])
    }

    /// Merges rows that are identical and have the same label; keeps first-appearance order.
    static func merge(_ matrix: IntentMatrix, labels: [Int]) -> (IntentMatrix, [Int], [Int]) {
        var merged = IntentMatrix()
        var mergedLabels: [Int] = []
        var multiplicity: [Int] = []
        var byHash: [UInt64: [Int]] = [:]  // lookups only: iteration order never matters
        func same(_ row: Int, _ other: Int) -> Bool {
            let a = matrix.rowStart[row]..<matrix.rowStart[row + 1]
            let b = merged.rowStart[other]..<merged.rowStart[other + 1]
            guard a.count == b.count, labels[row] == mergedLabels[other] else { return false }
            for (i, j) in zip(a, b) where matrix.columns[i] != merged.columns[j] || matrix.values[i] != merged.values[j] {
                return false
            }
            return true
        }
        for row in 0..<matrix.rows {
            var h = IntentNGrams.fnvOffset ^ UInt64(truncatingIfNeeded: labels[row])
            for j in matrix.rowStart[row]..<matrix.rowStart[row + 1] {
                h = (h ^ UInt64(truncatingIfNeeded: matrix.columns[j])) &* IntentNGrams.fnvPrime
            }
            if let candidates = byHash[h], let found = candidates.first(where: { same(row, $0) }) {
                multiplicity[found] += 1
                continue
            }
            byHash[h, default: []].append(mergedLabels.count)
            let range = matrix.rowStart[row]..<matrix.rowStart[row + 1]
            merged.columns.append(contentsOf: matrix.columns[range])
            merged.values.append(contentsOf: matrix.values[range])
            merged.rowStart.append(merged.columns.count)
            mergedLabels.append(labels[row])
            multiplicity.append(1)
        }
        return (merged, mergedLabels, multiplicity)
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
/// lives in two flat ring buffers (memory × dimension) of `Float`: the two-loop recursion
/// streams them 4·memory times per iteration and is bound by memory bandwidth, and the history
/// only shapes the search direction (x, the gradient and every sum stay in `Double`; the
/// line search still guarantees descent). An iteration allocates nothing.
enum LBFGS {
    /// Minimises `f` from `x` in place; returns the number of iterations.
    /// Stops when ‖∇f‖∞ ≤ tolerance · ‖∇f(x₀)‖∞ (relative, so the test does not depend on how
    /// the loss is scaled), when an iteration lowers f by less than 1e-10 · max(1, |f|), when
    /// the line search fails, or after `maxIterations`.
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
        var initialGradientNorm = -1.0

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
            if initialGradientNorm < 0 { initialGradientNorm = gradientNorm }
            if gradientNorm <= tolerance * initialGradientNorm { break }
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
            if decrease <= 1e-10 * max(1, abs(fx)) { break }
        }
        return iteration
    }
}
