#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One intent and its probability.
public struct IntentScore: Sendable, Equatable {
    public var intent: String
    public var score: Double

    public init(intent: String, score: Double) {
        self.intent = intent
        self.score = score
    }
}

/// What `IntentClassifier.classify` decided.
public struct IntentPrediction: Sendable, Equatable {
    /// The recognised intent, or nil for "none of them": the text shares no n-gram with any
    /// example, too little of it is covered by the examples' n-grams (`minimumCoverage`), or the
    /// best probability is below `threshold`.
    public var intent: String?
    /// The model's probability of the top-ranked intent (also when `intent` is nil).
    public var score: Double
    /// All intents, best first (ties by name).
    public var ranking: [IntentScore]

    public init(intent: String?, score: Double, ranking: [IntentScore]) {
        self.intent = intent
        self.score = score
        self.ranking = ranking
    }
}

/// An intent classifier compiled at load time from example utterances.
///
/// Support leads declare an intent by listing example utterances; this turns them into a model
/// in one deterministic pass:
///
/// 1. **Features** — character n-grams (default 1–3) over Unicode scalars with start/end
///    markers, weighted TF-IDF (sublinear tf, smooth idf from the examples, L2-normalised); see
///    `IntentNGrams` and `IntentVectorizer`. Characters rather than words because Chinese has no
///    spaces and a segmenter would be a large dependency whose errors on short, colloquial
///    customer messages (退个货 / 退货 / 怎么退) are worse than the redundancy of overlapping
///    n-grams.
/// 2. **Model** — multinomial logistic regression with L2, trained by full-batch L-BFGS
///    (`SoftmaxRegression`). Linear models on TF-IDF n-grams are the strong classical baseline for
///    short-text intents; the softmax gives probabilities that mean something, which the
///    "none of them" decision needs, and nothing here is random.
/// 3. **"None of them"** — see `threshold` and `minimumCoverage`, both calibrated at init by
///    k-fold cross-validation on the examples unless `Options` fixes them.
///
/// Classification costs one hash-table probe per n-gram of the message, K multiply-adds per
/// known n-gram, a softmax over K intents and the `ranking` array; the n-gram hashes and the
/// sparse row live in stack buffers.
public struct IntentClassifier: Sendable {
    public struct Options: Sendable, Equatable {
        /// Lengths of the character n-grams, in Unicode scalars. Default 1...3: unigrams carry
        /// the keywords (退, 票), bigrams most Chinese words (退货, 发票), trigrams short phrases
        /// (开发票). Longer n-grams mostly memorise the examples; shorter ranges lose word
        /// identity.
        public var ngrams: ClosedRange<Int> = 1...3
        /// Start/end markers around the text (so `^查` ≠ `查`). Default true.
        public var boundaryMarkers = true
        /// tf → 1 + ln tf. Default true.
        public var sublinearTF = true
        /// Inverse L2 strength, the `C` of scikit-learn's `LogisticRegression` (the penalty is
        /// ‖W‖² / (2·C·N)). Default 10: support leads write few examples per intent, and with
        /// few examples C = 1 (scikit-learn's default) shrinks the weights so much that the
        /// prior of the largest intent wins on short messages; chosen by 5-fold
        /// cross-validation on the DEV corpora under Corpora/intents (see scripts/eval-intents).
        public var inverseRegularization = 10.0
        /// Weigh each example by N / (K · n_intent) so that an intent with many examples does
        /// not drown one with few. Default false (see the evaluation notes in scripts/eval-intents).
        public var balancedClassWeights = false
        /// L-BFGS iterations at most. Default 200 (training usually stops well before, on
        /// `tolerance`).
        public var maxIterations = 200
        /// L-BFGS stops when the gradient's largest component is below this, or when an
        /// iteration lowers the objective by less than tolerance/100 (relative). Default 1e-4:
        /// rankings do not change beyond that, and training stays well under a second.
        public var tolerance = 1e-4
        /// Minimum probability for the top intent to be accepted. nil (default) = calibrate at
        /// init (see `acceptance`); set it (e.g. 0) to fix it.
        public var threshold: Double? = nil
        /// Minimum `coverage` of a message by known n-grams (0...1). nil (default) = calibrate
        /// at init; set it (e.g. 0) to fix it. A message sharing no n-gram at all with the
        /// examples is "none of them" regardless.
        public var minimumCoverage: Double? = nil
        /// Calibration target: the fraction of in-domain held-out messages that the model gets
        /// right and that must still be accepted. Default 0.95: a bot that answers "I did not
        /// understand" to one right answer in twenty is acceptable; one that answers an unrelated
        /// message with a wrong intent is what the thresholds are there to prevent. Half of
        /// the 5 % rejection budget goes to coverage, half to probability.
        public var acceptance = 0.95
        /// Folds of the calibration cross-validation. Default 5; training then costs six model
        /// fits instead of one. Values below 2 disable calibration (thresholds fall back to 0).
        public var calibrationFolds = 5

        public init() {}
    }

    public let options: Options
    /// The intents, sorted.
    public let intents: [String]
    /// The minimum probability of the top intent for `classify` to name it.
    ///
    /// Calibrated at init unless `Options.threshold` fixes it: the examples are split into
    /// `calibrationFolds` stratified folds (per intent, in input order, dealt round-robin; no
    /// randomness), a model is trained on each complement, and among the held-out examples it
    /// predicts correctly, the threshold is the largest value that still accepts `acceptance` of
    /// them (after the coverage cut, which gets half of the rejection budget). Probability
    /// alone cannot reject anything when there is one intent (it is always 1), hence also
    /// `minimumCoverage`. If no held-out example is predicted correctly (e.g. one example per
    /// intent), both calibrated values are 0: only "no shared n-gram" gives nil.
    /// Trade-off: the fold models have seen 1/k fewer examples than the final one, so their
    /// held-out probabilities are a little lower than the final model's on new messages; the
    /// thresholds err on the side of accepting.
    public var threshold: Double
    /// The minimum share of a message's TF-IDF mass that must fall on n-grams seen in the
    /// examples (unknown n-grams weighted with the idf of an n-gram in no example). Calibrated
    /// like `threshold`. Trade-off: a vocabulary-wide overlap test is intent-blind (it says
    /// "this looks like our customers' messages", not "this looks like intent X"), but it works
    /// with a single intent and for messages that happen to land confidently on one intent
    /// through a few shared characters.
    public var minimumCoverage: Double

    let model: Model?

    /// `examples`: (intent, text) pairs; texts are ALREADY normalized by the caller.
    /// Duplicate pairs count as often as they are given. The result depends only on the
    /// examples, their order and `options`.
    public init(examples: [(intent: String, text: String)], options: Options = Options()) {
        self.options = options
        let intents = Array(Set(examples.map(\.intent))).sorted()
        self.intents = intents
        guard !examples.isEmpty else {
            model = nil
            threshold = options.threshold ?? 0
            minimumCoverage = options.minimumCoverage ?? 0
            return
        }
        var index: [String: Int] = [:]
        for (i, intent) in intents.enumerated() { index[intent] = i }
        let ngrams = IntentNGrams(range: options.ngrams, boundaries: options.boundaryMarkers)
        let documents = examples.map { ngrams.counted($0.text) }
        let labels = examples.map { index[$0.intent]! }

        model = Model(documents: documents, labels: labels, classCount: intents.count,
                      ngrams: ngrams, options: options)

        if options.threshold != nil && options.minimumCoverage != nil {
            threshold = options.threshold!
            minimumCoverage = options.minimumCoverage!
        } else {
            let calibrated = Self.calibrate(documents: documents, labels: labels,
                                            classCount: intents.count, ngrams: ngrams, options: options)
            threshold = calibrated.threshold
            minimumCoverage = calibrated.minimumCoverage
        }
    }

    /// Classifies `text` (already normalized).
    public func classify(_ text: String) -> IntentPrediction {
        guard let model else { return IntentPrediction(intent: nil, score: 0, ranking: []) }
        let k = intents.count
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { p in
            let evidence = model.probabilities(text, into: p)
            var ranking: [IntentScore] = []
            ranking.reserveCapacity(k)
            for c in 0..<k { ranking.append(IntentScore(intent: intents[c], score: p[c])) }
            ranking.sort { $0.score != $1.score ? $0.score > $1.score : $0.intent < $1.intent }
            let top = ranking[0]
            let accepted = evidence.knownFeatures > 0
                && evidence.coverage >= minimumCoverage
                && top.score >= threshold
            return IntentPrediction(intent: accepted ? top.intent : nil, score: top.score, ranking: ranking)
        }
    }

    /// The probabilities (indexed like `intents`) and the evidence behind `classify` (tests, explain).
    func analyze(_ text: String) -> (probabilities: [Double], evidence: IntentVectorizer.Evidence) {
        guard let model else { return ([], IntentVectorizer.Evidence(knownFeatures: 0, coverage: 0)) }
        var p = [Double](repeating: 0, count: intents.count)
        let evidence = p.withUnsafeMutableBufferPointer { model.probabilities(text, into: $0) }
        return (p, evidence)
    }

    // MARK: - Calibration

    /// Stratified, deterministic fold of each example: per intent, its examples in input order
    /// are dealt round-robin, the dealer continuing from one intent to the next so that folds
    /// stay balanced when many intents have fewer examples than folds.
    static func folds(labels: [Int], classCount: Int, folds k: Int) -> [Int] {
        var fold = [Int](repeating: 0, count: labels.count)
        var dealer = 0
        for c in 0..<classCount {
            for i in labels.indices where labels[i] == c {
                fold[i] = dealer % k
                dealer += 1
            }
        }
        return fold
    }

    private static func calibrate(documents: [[(hash: UInt64, count: Int32)]], labels: [Int],
                                  classCount: Int, ngrams: IntentNGrams,
                                  options: Options) -> (threshold: Double, minimumCoverage: Double) {
        let k = min(options.calibrationFolds, labels.count)
        var correct: [(probability: Double, coverage: Double)] = []
        if k >= 2 {
            let fold = folds(labels: labels, classCount: classCount, folds: k)
            for f in 0..<k {
                let train = labels.indices.filter { fold[$0] != f }
                let test = labels.indices.filter { fold[$0] == f }
                guard !train.isEmpty, !test.isEmpty else { continue }
                // Classes present in this training part, renumbered 0..<local.
                var local = [Int](repeating: -1, count: classCount)
                var global: [Int] = []
                for c in 0..<classCount where train.contains(where: { labels[$0] == c }) {
                    local[c] = global.count
                    global.append(c)
                }
                let model = Model(documents: train.map { documents[$0] },
                                  labels: train.map { local[labels[$0]] },
                                  classCount: global.count, ngrams: ngrams, options: options)
                var p = [Double](repeating: 0, count: global.count)
                for i in test {
                    let evidence = p.withUnsafeMutableBufferPointer {
                        model.probabilities(documents[i], into: $0)
                    }
                    guard evidence.knownFeatures > 0 else { continue }
                    var best = 0
                    for c in 1..<max(global.count, 1) where p[c] > p[best] { best = c }
                    if global[best] == labels[i] {
                        correct.append((p[best], evidence.coverage))
                    }
                }
            }
        }
        guard !correct.isEmpty else {
            return (options.threshold ?? 0, options.minimumCoverage ?? 0)
        }
        let budget = Int((1 - min(max(options.acceptance, 0), 1)) * Double(correct.count))
        /// The largest cut that rejects at most `allowed` of `values` (accept iff value ≥ cut).
        func cut(_ values: [Double], rejecting allowed: Int) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(max(allowed, 0), sorted.count - 1)]
        }
        var pool = correct
        var remaining = budget
        var coverageCut = options.minimumCoverage ?? 0
        var probabilityCut = options.threshold ?? 0
        if let fixed = options.threshold {
            pool = pool.filter { $0.probability >= fixed }
            remaining -= correct.count - pool.count
            coverageCut = cut(pool.map(\.coverage), rejecting: remaining)
        } else if let fixed = options.minimumCoverage {
            pool = pool.filter { $0.coverage >= fixed }
            remaining -= correct.count - pool.count
            probabilityCut = cut(pool.map(\.probability), rejecting: remaining)
        } else {
            coverageCut = cut(pool.map(\.coverage), rejecting: budget / 2)
            let before = pool.count
            pool = pool.filter { $0.coverage >= coverageCut }
            remaining -= before - pool.count
            probabilityCut = cut(pool.map(\.probability), rejecting: remaining)
        }
        return (probabilityCut, coverageCut)
    }
}

extension IntentClassifier {
    /// Vectorizer + softmax regression for one training set.
    struct Model: Sendable {
        let vectorizer: IntentVectorizer
        let regression: SoftmaxRegression?
        let classCount: Int

        init(documents: [[(hash: UInt64, count: Int32)]], labels: [Int], classCount: Int,
             ngrams: IntentNGrams, options: Options) {
            var matrix = IntentMatrix()
            vectorizer = IntentVectorizer(ngrams: ngrams, sublinearTF: options.sublinearTF,
                                          documents: documents, matrix: &matrix)
            self.classCount = classCount
            if classCount >= 2 {
                regression = SoftmaxRegression(
                    matrix: matrix, labels: labels, classCount: classCount,
                    featureCount: vectorizer.featureCount,
                    settings: .init(inverseRegularization: options.inverseRegularization,
                                    balancedClassWeights: options.balancedClassWeights,
                                    maxIterations: options.maxIterations,
                                    tolerance: options.tolerance))
            } else {
                regression = nil
            }
        }

        /// Writes the softmax probabilities of `text` into `p` (classCount entries).
        @inline(__always)
        func probabilities(_ text: String, into p: UnsafeMutableBufferPointer<Double>) -> IntentVectorizer.Evidence {
            guard let regression else {
                if classCount == 1 { p[0] = 1 }
                return vectorizer.analyze(text) { _, _ in }
            }
            let k = classCount
            return regression.weights.withUnsafeBufferPointer { w in
                for c in 0..<k { p[c] = regression.bias[c] }
                let evidence = vectorizer.analyze(text) { feature, value in
                    let base = feature * k
                    for c in 0..<k { p[c] += value * w[base + c] }
                }
                softmax(p, count: k)
                return evidence
            }
        }

        /// Same, for a training document already hashed and counted (calibration).
        func probabilities(_ document: [(hash: UInt64, count: Int32)],
                           into p: UnsafeMutableBufferPointer<Double>) -> IntentVectorizer.Evidence {
            var known = 0.0, unknown = 0.0
            var row: [(Int, Double)] = []
            for (hash, count) in document {
                let tf = vectorizer.tf(count)
                let id = vectorizer.table.lookup(hash)
                if id >= 0 {
                    let v = tf * vectorizer.idf[Int(id)]
                    known += v * v
                    row.append((Int(id), v))
                } else {
                    let v = tf * vectorizer.unknownIDF
                    unknown += v * v
                }
            }
            let evidence = IntentVectorizer.Evidence(
                knownFeatures: row.count, coverage: known + unknown > 0 ? known / (known + unknown) : 0)
            guard let regression else {
                if classCount == 1 { p[0] = 1 }
                return evidence
            }
            let k = classCount
            let scale = row.isEmpty ? 0 : 1 / known.squareRoot()
            for c in 0..<k { p[c] = regression.bias[c] }
            for (feature, v) in row {
                for c in 0..<k { p[c] += v * scale * regression.weights[feature * k + c] }
            }
            softmax(p, count: k)
            return evidence
        }
    }
}

@inline(__always)
private func softmax(_ p: UnsafeMutableBufferPointer<Double>, count k: Int) {
    var top = p[0]
    for c in 1..<k where p[c] > top { top = p[c] }
    var sum = 0.0
    for c in 0..<k {
        p[c] = exp(p[c] - top)
        sum += p[c]
    }
    for c in 0..<k { p[c] /= sum }
}
