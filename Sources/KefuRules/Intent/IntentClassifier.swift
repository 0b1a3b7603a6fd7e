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
    /// example, it is too unlike the top intent's examples (`IntentClassifier.minimumSimilarity`),
    /// or the top probability is below `IntentClassifier.threshold`.
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
/// 3. **"None of them"** — three tests, see `threshold` and `minimumSimilarity`: a message
///    sharing no n-gram with any example is nil; otherwise its cosine similarity to the top
///    intent's centroid and the top probability must reach thresholds calibrated at init by
///    k-fold cross-validation on the examples (unless `Options` fixes them).
///
/// Classification costs one hash-table probe per n-gram of the message, 2·K multiply-adds per
/// known n-gram (weights and centroids) and a softmax over K intents, about 3 µs for a
/// 20-character message in a release build. The n-gram hashes, the sparse row and the scores
/// live in stack buffers; the one heap allocation is the `ranking` array the result carries
/// (measured: 1.0 malloc per message on the DEV corpora).
public struct IntentClassifier: Sendable {
    public struct Options: Sendable, Equatable {
        /// Lengths of the character n-grams, in Unicode scalars. Default 1...3: unigrams carry
        /// the keywords (退, 票), bigrams most Chinese words (退货, 发票), trigrams short phrases
        /// (开发票). In the DEV cross-validation (scripts/eval-intents) 1...2 was as good on two
        /// corpora and half a point worse on the third, 1...4 worse on all three (longer
        /// n-grams mostly memorise the examples), 2...4 worse by 1–7 points of macro-F1.
        /// Every extra length also multiplies the parameters, hence the training time.
        public var ngrams: ClosedRange<Int> = 1...3
        /// Start/end markers around the text, so that `^查` (a message that starts with 查) is
        /// a feature of its own. Default true: without them macro-F1 fell by 0.2–5 points in the
        /// DEV cross-validation (most on xSID, whose short commands start with the verb).
        public var boundaryMarkers = true
        /// tf → 1 + ln tf (a repeated character, 好好好, must not dominate a short message).
        /// Default true; raw tf was slightly worse on all three DEV corpora.
        public var sublinearTF = true
        /// Inverse L2 strength, the `C` of scikit-learn's `LogisticRegression` (the penalty is
        /// ‖W‖² / (2·C·N)). Default 10, chosen by 5-fold cross-validation on the DEV corpora
        /// under Corpora/intents (scripts/eval-intents): C = 1 (scikit-learn's default) shrinks
        /// the weights of the few n-grams that tell short utterances apart so much that the
        /// prior of the largest intent wins (−2 to −8 points of accuracy); 10, 30 and 100 score
        /// within a point of each other, and 10 converges fastest.
        public var inverseRegularization = 10.0
        /// Weigh each example by N / (K · n_intent), so that an intent with 50 examples does not
        /// drown one with 5 (example lists written by hand are that uneven). Default true: on the
        /// DEV corpora it raised macro-F1 by 0.6–2.7 points and did not lower accuracy.
        public var balancedClassWeights = true
        /// L-BFGS iterations at most. Default 300; training normally stops after 20–60 on
        /// `tolerance`.
        public var maxIterations = 300
        /// L-BFGS stops when the gradient's largest component has fallen to this fraction of
        /// its value at the start. Default 1e-2: on the DEV corpora, accuracy and macro-F1 are
        /// within half a point of a fit run to 1e-4 (sometimes above, sometimes below), at half
        /// the training time.
        public var tolerance = 1e-2
        /// Minimum probability for the top intent to be accepted. nil (default) = calibrate at
        /// init (see `acceptance`); set it (e.g. 0) to fix it.
        public var threshold: Double? = nil
        /// Minimum cosine similarity (0...1) between a message and the centroid of its top
        /// intent's examples. nil (default) = calibrate at init; set it (e.g. 0) to fix it. A
        /// message sharing no n-gram at all with the examples is "none of them" regardless.
        public var minimumSimilarity: Double? = nil
        /// Calibration target: the fraction of the held-out examples that the model gets right
        /// and that must still be accepted. Default 0.95: a bot that answers "sorry, I did not
        /// understand" to one right answer in twenty is acceptable; one that answers an
        /// unrelated message with a confident wrong intent is what the thresholds prevent. The
        /// 5 % rejection budget is split evenly between similarity and probability. On the
        /// DEV corpora this answered "none" to 5–9 % of in-domain messages (about half of them
        /// would have been wrong answers) and to 78–99 % of another corpus's messages.
        public var acceptance = 0.95
        /// Folds of the calibration cross-validation. Default 3: every example is held out
        /// once either way, and 3 folds cost 2 extra fits on two thirds of the data where 5
        /// cost 4 on four fifths (the thresholds came out within a few hundredths on the DEV
        /// corpora). Values below 2 disable calibration (unfixed thresholds fall back to 0).
        public var calibrationFolds = 3

        public init() {}
    }

    public let options: Options
    /// The intents, sorted.
    public let intents: [String]
    /// The minimum probability of the top intent for `classify` to name it.
    ///
    /// Calibrated at init unless `Options.threshold` fixes it, together with
    /// `minimumSimilarity`: the examples are split into `calibrationFolds` stratified folds
    /// (deterministic, see `folds(documents:labels:classCount:folds:)`), a model is trained on
    /// each complement, and each held-out example is classified. Among those classified
    /// correctly, `minimumSimilarity` is set to reject at most half of the budget
    /// (1 − `acceptance`, rounded up), then `threshold` to reject at most the rest, so that at
    /// least `acceptance` of them are still accepted.
    ///
    /// Trade-offs:
    /// - The probability alone cannot reject anything when there is one intent (it is always
    ///   1), and a softmax is often confident on text far from every example (it only compares
    ///   intents with each other); hence the similarity test as well.
    /// - With few examples the quantile is coarse: below 1 / (1 − acceptance) correct held-out
    ///   predictions (20 by default) no rejection is allowed and each threshold is the lowest
    ///   value seen, i.e. "as unlike the examples as the least typical example" is still
    ///   accepted. And idf from a few dozen examples cannot know that 的, 了, 吗 are common
    ///   in any Chinese text, so a message sharing only such characters with an intent's
    ///   examples can still pass when that intent has an example that shares little more with
    ///   the others. More (and more varied) examples per intent tighten both.
    /// - The fold models have seen a third fewer examples than the final one, so held-out
    ///   examples look a little less familiar to them than new messages will to the final
    ///   model: the thresholds err on the side of answering.
    /// - If no held-out example is predicted correctly (e.g. one example per intent), the
    ///   calibrated values are 0: only "no shared n-gram" gives nil.
    public var threshold: Double
    /// The minimum cosine similarity between a message and the centroid of its top intent's
    /// examples (TF-IDF vectors, each L2-normalised, summed per intent, then normalised), for
    /// `classify` to name the intent. Calibrated with `threshold` unless
    /// `Options.minimumSimilarity` fixes it.
    ///
    /// Trade-off: the centroid favours the n-grams an intent's examples have in common (发票 in
    /// most invoice examples) over those of a single example, so a message that merely shares
    /// 我 / 的 / 吗 with a few examples scores low while a paraphrase built around the intent's
    /// key words scores high. It works with one intent, where nothing else can. The message's
    /// vector is normalised over its known n-grams only, so an in-domain message padded with
    /// unrelated words is not penalised for them; the probability test covers ambiguity.
    public var minimumSimilarity: Double

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
            minimumSimilarity = options.minimumSimilarity ?? 0
            return
        }
        var index: [String: Int] = [:]
        for (i, intent) in intents.enumerated() { index[intent] = i }
        let ngrams = IntentNGrams(range: options.ngrams, boundaries: options.boundaryMarkers)
        let documents = examples.map { ngrams.counted($0.text) }
        let labels = examples.map { index[$0.intent]! }

        model = Model(documents: documents, labels: labels, classCount: intents.count,
                      ngrams: ngrams, options: options)

        if let fixedThreshold = options.threshold, let fixedSimilarity = options.minimumSimilarity {
            threshold = fixedThreshold
            minimumSimilarity = fixedSimilarity
        } else {
            let calibrated = Self.calibrate(documents: documents, labels: labels,
                                            classCount: intents.count, ngrams: ngrams, options: options)
            threshold = calibrated.threshold
            minimumSimilarity = calibrated.minimumSimilarity
        }
    }

    /// Classifies `text` (already normalized).
    public func classify(_ text: String) -> IntentPrediction {
        guard let model else { return IntentPrediction(intent: nil, score: 0, ranking: []) }
        let k = intents.count
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * k) { buffer in
            let p = UnsafeMutableBufferPointer(rebasing: buffer[0..<k])
            let similarity = UnsafeMutableBufferPointer(rebasing: buffer[k..<(2 * k)])
            let known = model.score(text, probabilities: p, similarities: similarity)
            var best = 0
            for c in 1..<max(k, 1) where p[c] > p[best] { best = c }
            var ranking: [IntentScore] = []
            ranking.reserveCapacity(k)
            for c in 0..<k { ranking.append(IntentScore(intent: intents[c], score: p[c])) }
            ranking.sort { $0.score != $1.score ? $0.score > $1.score : $0.intent < $1.intent }
            let accepted = known > 0 && similarity[best] >= minimumSimilarity && p[best] >= threshold
            return IntentPrediction(intent: accepted ? intents[best] : nil, score: p[best], ranking: ranking)
        }
    }

    /// What `classify` bases its decision on (tests, explain): probabilities and centroid
    /// similarities indexed like `intents`, and the number of known n-grams.
    func analyze(_ text: String) -> (probabilities: [Double], similarities: [Double], knownFeatures: Int) {
        guard let model else { return ([], [], 0) }
        var p = [Double](repeating: 0, count: intents.count)
        var s = p
        let known = p.withUnsafeMutableBufferPointer { p in
            s.withUnsafeMutableBufferPointer { s in model.score(text, probabilities: p, similarities: s) }
        }
        return (p, s, known)
    }

    // MARK: - Calibration

    /// Stratified, deterministic fold of each example: per intent, its examples are dealt
    /// round-robin to the folds, the dealer continuing from one intent to the next so that
    /// folds stay balanced when many intents have fewer examples than folds.
    ///
    /// Within an intent the examples are dealt in the order of a hash of their n-grams (ties:
    /// input order), not in input order: authors write examples in patterns (every third one
    /// about 物流, say), and dealing in input order can put all of a pattern into one fold,
    /// which then looks unlike everything the other folds learnt. The hash is FNV-1a, so the
    /// folds are still a pure function of the examples.
    static func folds(documents: [[(hash: UInt64, count: Int32)]], labels: [Int], classCount: Int,
                      folds k: Int) -> [Int] {
        let keys = documents.map { document -> UInt64 in
            var h = IntentNGrams.fnvOffset
            for (hash, count) in document {
                h = (h ^ hash) &* IntentNGrams.fnvPrime
                h = (h ^ UInt64(count)) &* IntentNGrams.fnvPrime
            }
            return h
        }
        var fold = [Int](repeating: 0, count: labels.count)
        var dealer = 0
        for c in 0..<classCount {
            let members = labels.indices.filter { labels[$0] == c }
                .sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
            for i in members {
                fold[i] = dealer % k
                dealer += 1
            }
        }
        return fold
    }

    private static func calibrate(documents: [[(hash: UInt64, count: Int32)]], labels: [Int],
                                  classCount: Int, ngrams: IntentNGrams,
                                  options: Options) -> (threshold: Double, minimumSimilarity: Double) {
        let k = min(options.calibrationFolds, labels.count)
        var correct: [(probability: Double, similarity: Double)] = []
        if k >= 2 {
            let fold = folds(documents: documents, labels: labels, classCount: classCount, folds: k)
            for f in 0..<k {
                let train = labels.indices.filter { fold[$0] != f }
                let test = labels.indices.filter { fold[$0] == f }
                guard !train.isEmpty, !test.isEmpty else { continue }
                // Intents present in this training part, renumbered 0..<local.
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
                var s = p
                for i in test {
                    let known = p.withUnsafeMutableBufferPointer { p in
                        s.withUnsafeMutableBufferPointer { s in
                            model.score(documents[i], probabilities: p, similarities: s)
                        }
                    }
                    guard known > 0 else { continue }
                    var best = 0
                    for c in 1..<max(global.count, 1) where p[c] > p[best] { best = c }
                    if global[best] == labels[i] {
                        correct.append((p[best], s[best]))
                    }
                }
            }
        }
        guard !correct.isEmpty else {
            return (options.threshold ?? 0, options.minimumSimilarity ?? 0)
        }
        let budget = Int((1 - min(max(options.acceptance, 0), 1)) * Double(correct.count))
        /// The largest cut that rejects at most `allowed` of `values` (accept iff value ≥ cut).
        func cut(_ values: [Double], rejecting allowed: Int) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(max(allowed, 0), sorted.count - 1)]
        }
        var pool = correct
        if let fixed = options.threshold {
            pool = pool.filter { $0.probability >= fixed }
            let similarity = cut(pool.map(\.similarity), rejecting: budget - (correct.count - pool.count))
            return (fixed, similarity)
        }
        if let fixed = options.minimumSimilarity {
            pool = pool.filter { $0.similarity >= fixed }
            let probability = cut(pool.map(\.probability), rejecting: budget - (correct.count - pool.count))
            return (probability, fixed)
        }
        // The similarity test gets the larger half of an odd budget: it is the one that catches
        // text unlike the examples, which the probability cannot.
        let similarity = cut(pool.map(\.similarity), rejecting: (budget + 1) / 2)
        pool = pool.filter { $0.similarity >= similarity }
        let probability = cut(pool.map(\.probability), rejecting: budget - (correct.count - pool.count))
        return (probability, similarity)
    }
}

extension IntentClassifier {
    /// Vectorizer, softmax regression and intent centroids for one training set.
    struct Model: Sendable {
        let vectorizer: IntentVectorizer
        let regression: SoftmaxRegression?
        /// Feature-major unit centroids, `featureCount × classCount`.
        let centroids: [Double]
        let classCount: Int

        init(documents: [[(hash: UInt64, count: Int32)]], labels: [Int], classCount: Int,
             ngrams: IntentNGrams, options: Options) {
            var matrix = IntentMatrix()
            vectorizer = IntentVectorizer(ngrams: ngrams, sublinearTF: options.sublinearTF,
                                          documents: documents, matrix: &matrix)
            self.classCount = classCount
            let k = classCount
            var centroids = [Double](repeating: 0, count: vectorizer.featureCount * k)
            var norms = [Double](repeating: 0, count: k)
            for row in 0..<matrix.rows {
                for j in matrix.rowStart[row]..<matrix.rowStart[row + 1] {
                    centroids[Int(matrix.columns[j]) * k + labels[row]] += matrix.values[j]
                }
            }
            for f in 0..<vectorizer.featureCount {
                for c in 0..<k { norms[c] += centroids[f * k + c] * centroids[f * k + c] }
            }
            for f in 0..<vectorizer.featureCount {
                for c in 0..<k where norms[c] > 0 { centroids[f * k + c] /= norms[c].squareRoot() }
            }
            self.centroids = centroids
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

        /// Writes the softmax probabilities and the centroid similarities of `text` (classCount
        /// entries each); returns the number of known n-grams.
        @inline(__always)
        func score(_ text: String, probabilities p: UnsafeMutableBufferPointer<Double>,
                   similarities s: UnsafeMutableBufferPointer<Double>) -> Int {
            accumulate(p, s) { vectorizer.analyze(text, $0) }
        }

        /// Same, for a text already hashed and counted (calibration).
        func score(_ document: [(hash: UInt64, count: Int32)], probabilities p: UnsafeMutableBufferPointer<Double>,
                   similarities s: UnsafeMutableBufferPointer<Double>) -> Int {
            accumulate(p, s) { vectorizer.analyze(document, $0) }
        }

        @inline(__always)
        private func accumulate(_ p: UnsafeMutableBufferPointer<Double>, _ s: UnsafeMutableBufferPointer<Double>,
                                _ row: ((Int, Double) -> Void) -> Int) -> Int {
            let k = classCount
            for c in 0..<k { s[c] = 0 }
            guard let regression else {
                if k == 1 { p[0] = 1 }
                return centroids.withUnsafeBufferPointer { centroids in
                    row { feature, value in
                        let base = feature * k
                        for c in 0..<k { s[c] += value * centroids[base + c] }
                    }
                }
            }
            for c in 0..<k { p[c] = regression.bias[c] }
            let known = regression.weights.withUnsafeBufferPointer { w in
                centroids.withUnsafeBufferPointer { centroids in
                    row { feature, value in
                        let base = feature * k
                        for c in 0..<k {
                            p[c] += value * w[base + c]
                            s[c] += value * centroids[base + c]
                        }
                    }
                }
            }
            softmax(p, count: k)
            return known
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

extension IntentPrediction {
    /// Sure enough to interrupt a flow step with an answer to a side question (temporary rule until the calibrated one lands).
    public var isConfident: Bool { intent != nil && score >= 0.9 }
}
