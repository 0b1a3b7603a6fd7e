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
    /// Why a message got no intent.
    public enum Decline: String, Sendable, Equatable {
        /// The message shares no character (n-gram) with any example.
        case noSharedWords
        /// It is more like the "none of them" examples (built-in chit-chat, the rule set's `none:`
        /// list, the intents' `not:` lists) than like any intent, or it is one of them verbatim.
        case resemblesNone
        /// Its top intent is the likeliest, but the message is less like that intent's examples
        /// than held-out examples were (`IntentClassifier.minimumSimilarity`).
        case unlikeExamples
        /// Two or more intents are about as likely (`IntentClassifier.threshold`).
        case unsure
    }

    /// The recognised intent, or nil for "none of them" (see `declined`).
    public var intent: String?
    /// The model's probability of the top-ranked intent (also when `intent` is nil).
    public var score: Double
    /// All intents, best first (ties by name). Without "none" examples the scores sum to 1; with
    /// them, the rest is `noneScore`.
    public var ranking: [IntentScore]
    /// Why `intent` is nil; nil when an intent was named.
    public var declined: Decline?
    /// High confidence: the intent was named with a probability of at least
    /// `IntentClassifier.confidentThreshold`, the level at which, on held-out examples, at least
    /// `Options.confidentPrecision` (97 %) of such answers were right. Meant for answering a side
    /// question in the middle of a flow, where a wrong answer costs more than staying quiet.
    public var isConfident: Bool
    /// The probability of "none of them" (0 when the classifier has no none examples).
    public var noneScore: Double
    /// Cosine similarity (0…1) of the message to the top intent's examples (their centroid).
    public var similarity: Double

    public init(intent: String?, score: Double, ranking: [IntentScore], declined: Decline? = nil,
                isConfident: Bool = false, noneScore: Double = 0, similarity: Double = 0) {
        self.intent = intent
        self.score = score
        self.ranking = ranking
        self.declined = declined
        self.isConfident = isConfident
        self.noneScore = noneScore
        self.similarity = similarity
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
/// 3. **"None of them"** — a class of its own when `none` examples are given (the compiler
///    gives every rule set `BuiltinNone` plus its `none:` and `not:` lists): a message likelier
///    none than any intent, or equal to a none text, is declined. Then two thresholds, see
///    `threshold` and `minimumSimilarity`: the cosine similarity to the top intent's centroid
///    and the top probability, calibrated at init by k-fold cross-validation on the examples
///    and the none texts (unless `Options` fixes them). A message sharing no n-gram with any
///    example is declined regardless. `IntentPrediction.declined` says which test declined it,
///    `isConfident` whether an answer is sure enough to interrupt a flow.
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
        /// The general-Chinese idf prior (`GeneralChinese`): 吗, 的, 了, 我, 想 … never weigh
        /// more than they would in ordinary Chinese text, however few the examples. Default true.
        public var generalChinesePrior = true
        /// Inverse L2 strength, the `C` of scikit-learn's `LogisticRegression` (the penalty is
        /// ‖W‖² / (2·C·N)). Default 10, chosen by 5-fold cross-validation on the DEV corpora
        /// under Corpora/intents (scripts/eval-intents): C = 1 (scikit-learn's default) shrinks
        /// the weights of the few n-grams that tell short utterances apart so much that the
        /// prior of the largest intent wins (−2 to −8 points of accuracy); 10, 30 and 100 score
        /// within a point of each other, and 10 converges fastest.
        public var inverseRegularization = 10.0
        /// Weigh each example by N / (K · n_intent), so that an intent with 50 examples does not
        /// drown one with 5 (example lists written by hand are that uneven). The "none" class
        /// counts as one class. Default true: on the DEV corpora it raised macro-F1 by 0.6–2.7
        /// points and did not lower accuracy.
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
        /// init (see `threshold`); set it (e.g. 0) to fix it.
        public var threshold: Double? = nil
        /// Minimum cosine similarity (0...1) between a message and the centroid of its top
        /// intent's examples. nil (default) = calibrate at init; set it (e.g. 0) to fix it. A
        /// message sharing no n-gram at all with the examples is "none of them" regardless.
        public var minimumSimilarity: Double? = nil
        /// Calibration target WITHOUT none examples only (a classifier given `none:` examples
        /// calibrates on them instead, see `threshold`): the fraction of the correctly
        /// classified held-out examples that must still be accepted. Default 0.95.
        public var acceptance = 0.95
        /// `confidentThreshold` is the lowest probability at which, on held-out examples, at
        /// least this fraction of the answers given were right. Default 0.97.
        public var confidentPrecision = 0.97
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
    /// The "none of them" examples the model learnt as a class of its own (built-in chit-chat,
    /// the rule set's `none:` list, the intents' `not:` lists), normalized.
    public let noneExamples: [NoneExample]
    /// The minimum probability of the top intent for `classify` to name it.
    ///
    /// With "none" examples (the usual case: every rule set gets `BuiltinNone`), the none class
    /// is a class of the softmax, so "在吗" is declined because it is likelier none than any
    /// intent, not because of a threshold. The two thresholds are then a second line, chosen at
    /// init by cross-validation on the examples *and* the none examples: the examples are split
    /// into `calibrationFolds` stratified folds (none as one more class), a model is trained on
    /// each complement, each held-out text is classified, and the pair (`threshold`,
    /// `minimumSimilarity`) is the one that maximises
    ///
    ///     (held-out examples answered right) / (examples) + (held-out none texts declined) / (none texts)
    ///
    /// (a coordinate search over the held-out values; ties go to the lower threshold). Declining
    /// an example the model had wrong gains nothing there, declining one it had right costs, so
    /// the thresholds rise only as far as they stop none texts that the none class let through.
    ///
    /// Without none examples (`settings: builtin_none: false` and no `none:`), as before:
    /// among the correctly classified held-out examples, `minimumSimilarity` rejects at most half
    /// of the budget (1 − `acceptance`), then `threshold` the rest.
    ///
    /// Trade-offs: the fold models have seen a third fewer examples than the final one, so the
    /// thresholds err on the side of answering; with a handful of examples per intent the
    /// held-out values are few and the search coarse. If no held-out example is right (one
    /// example per intent), the thresholds are 0.
    public var threshold: Double
    /// The minimum cosine similarity between a message and the centroid of its top intent's
    /// examples (TF-IDF vectors, each L2-normalised, summed per intent, then normalised), for
    /// `classify` to name the intent. Calibrated with `threshold` unless
    /// `Options.minimumSimilarity` fixes it.
    ///
    /// Trade-off: the centroid favours the n-grams an intent's examples have in common (发票 in
    /// most invoice examples) over those of a single example, so a message that merely shares
    /// 我 / 的 / 吗 with a few examples scores low while a paraphrase built around the intent's
    /// key words scores high. The message's vector is normalised over its known n-grams only, so
    /// an in-domain message padded with unrelated words is not penalised for them.
    public var minimumSimilarity: Double
    /// The probability from which an answer `isConfident` (≥ `threshold`): the lowest held-out
    /// probability above which at least `Options.confidentPrecision` of the calibration answers
    /// were right (a none text answered counts as wrong), with at least 5 such answers.
    /// `.infinity` (never confident) when no level reaches it, e.g. with too few examples.
    public var confidentThreshold: Double

    let model: Model?
    /// Normalized none texts: a message equal to one of them is declined whatever the model says.
    let noneTexts: Set<String>
    /// (intent, text) of the examples, for explain's nearest example.
    let exampleTexts: [(intent: String, text: String)]

    /// `examples`: (intent, text) pairs; `none`: texts no intent may answer. Texts are ALREADY
    /// normalized by the caller. Duplicate pairs count as often as they are given. A none text
    /// equal to an example is the caller's mistake; it is dropped (the example wins). The result
    /// depends only on the arguments and their order.
    public init(examples: [(intent: String, text: String)], none: [NoneExample] = [], options: Options = Options()) {
        self.options = options
        let intents = Array(Set(examples.map(\.intent))).sorted()
        self.intents = intents
        exampleTexts = examples
        let exampleSet = Set(examples.map(\.text))
        let none = none.filter { !$0.text.isEmpty && !exampleSet.contains($0.text) }
        noneExamples = none
        noneTexts = Set(none.map(\.text))
        guard !examples.isEmpty else {
            model = nil
            threshold = options.threshold ?? 0
            minimumSimilarity = options.minimumSimilarity ?? 0
            confidentThreshold = .infinity
            return
        }
        var index: [String: Int] = [:]
        for (i, intent) in intents.enumerated() { index[intent] = i }
        let ngrams = IntentNGrams(range: options.ngrams, boundaries: options.boundaryMarkers)
        let documents = examples.map { ngrams.counted($0.text) } + none.map { ngrams.counted($0.text) }
        let labels = examples.map { index[$0.intent]! } + none.map { _ in intents.count }
        let classCount = intents.count + (none.isEmpty ? 0 : 1)

        model = Model(documents: documents, labels: labels, classCount: classCount,
                      ngrams: ngrams, options: options)

        let calibrated = Self.calibrate(documents: documents, labels: labels, intentCount: intents.count,
                                        classCount: classCount, ngrams: ngrams, options: options)
        threshold = calibrated.threshold
        minimumSimilarity = calibrated.minimumSimilarity
        confidentThreshold = calibrated.confident
    }

    /// Classifies `text` (already normalized).
    public func classify(_ text: String) -> IntentPrediction {
        guard let model else {
            return IntentPrediction(intent: nil, score: 0, ranking: [], declined: .noSharedWords)
        }
        let k = intents.count
        let classes = model.classCount
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * classes) { buffer in
            let p = UnsafeMutableBufferPointer(rebasing: buffer[0..<classes])
            let similarity = UnsafeMutableBufferPointer(rebasing: buffer[classes..<(2 * classes)])
            let known = model.score(text, probabilities: p, similarities: similarity)
            var best = 0
            for c in 1..<max(k, 1) where p[c] > p[best] { best = c }
            let noneScore = classes > k ? p[k] : 0
            var ranking: [IntentScore] = []
            ranking.reserveCapacity(k)
            for c in 0..<k { ranking.append(IntentScore(intent: intents[c], score: p[c])) }
            ranking.sort { $0.score != $1.score ? $0.score > $1.score : $0.intent < $1.intent }
            let declined: IntentPrediction.Decline?
            if known == 0 {
                declined = .noSharedWords
            } else if noneScore > p[best] || noneTexts.contains(text) {
                declined = .resemblesNone
            } else if similarity[best] < minimumSimilarity {
                declined = .unlikeExamples
            } else if p[best] < threshold {
                declined = .unsure
            } else {
                declined = nil
            }
            return IntentPrediction(intent: declined == nil ? intents[best] : nil, score: p[best], ranking: ranking,
                                    declined: declined, isConfident: declined == nil && p[best] >= confidentThreshold,
                                    noneScore: noneScore, similarity: known == 0 ? 0 : similarity[best])
        }
    }

    /// What `classify` bases its decision on (tests, explain): probabilities and centroid
    /// similarities indexed like `intents` (then "none", if any), and the number of known n-grams.
    func analyze(_ text: String) -> (probabilities: [Double], similarities: [Double], knownFeatures: Int) {
        guard let model else { return ([], [], 0) }
        var p = [Double](repeating: 0, count: model.classCount)
        var s = p
        let known = p.withUnsafeMutableBufferPointer { p in
            s.withUnsafeMutableBufferPointer { s in model.score(text, probabilities: p, similarities: s) }
        }
        return (p, s, known)
    }

    /// The none example most like `text` (cosine of their TF-IDF vectors), for explain. Slow
    /// (one pass over the none examples); not for the message path.
    public func nearestNoneExample(to text: String) -> (example: NoneExample, similarity: Double)? {
        guard let model else { return nil }
        let vector = model.vector(text)
        var best: (NoneExample, Double)?
        for example in noneExamples {
            let s = model.cosine(vector, model.vector(example.text))
            if s > (best?.1 ?? 0) { best = (example, s) }
        }
        return best
    }

    /// The example of `intent` most like `text` (cosine of their TF-IDF vectors), for explain.
    public func nearestExample(of intent: String, to text: String) -> (text: String, similarity: Double)? {
        guard let model else { return nil }
        let vector = model.vector(text)
        var best: (String, Double)?
        for example in exampleTexts where example.intent == intent {
            let s = model.cosine(vector, model.vector(example.text))
            if best == nil || s > best!.1 { best = (example.text, s) }
        }
        return best
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

    /// One held-out text of the calibration.
    struct HeldOut {
        var label: Int          // intent index, or intentCount for none
        var predicted: Int      // best intent (global index), -1 if none
        var probability: Double // of `predicted`
        var similarity: Double  // to `predicted`'s centroid
        var declinedAnyway: Bool // no shared n-gram, or the none class won
    }

    static func heldOut(documents: [[(hash: UInt64, count: Int32)]], labels: [Int], intentCount: Int,
                        classCount: Int, ngrams: IntentNGrams, options: Options) -> [HeldOut] {
        let k = min(options.calibrationFolds, labels.count)
        guard k >= 2 else { return [] }
        var records: [HeldOut] = []
        let fold = folds(documents: documents, labels: labels, classCount: classCount, folds: k)
        for f in 0..<k {
            let train = labels.indices.filter { fold[$0] != f }
            let test = labels.indices.filter { fold[$0] == f }
            guard !train.isEmpty, !test.isEmpty else { continue }
            // Classes present in this training part, renumbered 0..<local (none stays last).
            var local = [Int](repeating: -1, count: classCount)
            var global: [Int] = []
            for c in 0..<classCount where train.contains(where: { labels[$0] == c }) {
                local[c] = global.count
                global.append(c)
            }
            guard global.contains(where: { $0 < intentCount }) else { continue }
            let model = Model(documents: train.map { documents[$0] },
                              labels: train.map { local[labels[$0]] },
                              classCount: global.count, ngrams: ngrams, options: options)
            let noneLocal = local.count > intentCount ? local[intentCount] : -1
            var p = [Double](repeating: 0, count: global.count)
            var s = p
            for i in test {
                let known = p.withUnsafeMutableBufferPointer { p in
                    s.withUnsafeMutableBufferPointer { s in
                        model.score(documents[i], probabilities: p, similarities: s)
                    }
                }
                var best = -1
                for c in 0..<global.count where c != noneLocal && (best < 0 || p[c] > p[best]) { best = c }
                let noneWins = noneLocal >= 0 && p[noneLocal] > p[best]
                records.append(HeldOut(label: labels[i], predicted: global[best], probability: p[best],
                                       similarity: s[best], declinedAnyway: known == 0 || noneWins))
            }
        }
        return records
    }

    private static func calibrate(documents: [[(hash: UInt64, count: Int32)]], labels: [Int], intentCount: Int,
                                  classCount: Int, ngrams: IntentNGrams,
                                  options: Options) -> (threshold: Double, minimumSimilarity: Double, confident: Double) {
        let fixed = (options.threshold, options.minimumSimilarity)
        if let p = fixed.0, let s = fixed.1 {
            // Still calibrate the confident level when there is something to calibrate on.
            let records = heldOut(documents: documents, labels: labels, intentCount: intentCount,
                                  classCount: classCount, ngrams: ngrams, options: options)
            return (p, s, confidentLevel(records, intentCount: intentCount, threshold: p, similarity: s, options: options))
        }
        let records = heldOut(documents: documents, labels: labels, intentCount: intentCount,
                              classCount: classCount, ngrams: ngrams, options: options)
        let thresholds = classCount > intentCount
            ? balanced(records, intentCount: intentCount, options: options)
            : quantiles(records, options: options)
        return (thresholds.threshold, thresholds.minimumSimilarity,
                confidentLevel(records, intentCount: intentCount, threshold: thresholds.threshold,
                               similarity: thresholds.minimumSimilarity, options: options))
    }

    /// With none examples: the thresholds that maximise held-out example accuracy (declines
    /// wrong) plus the held-out none decline rate.
    static func balanced(_ records: [HeldOut], intentCount: Int, options: Options) -> (threshold: Double, minimumSimilarity: Double) {
        let inDomain = records.filter { $0.label < intentCount }.count
        let none = records.count - inDomain
        guard inDomain > 0, none > 0 else { return (options.threshold ?? 0, options.minimumSimilarity ?? 0) }
        let open = records.filter { !$0.declinedAnyway }
        func objective(_ tp: Double, _ ts: Double) -> Double {
            var right = 0, declinedNone = none - open.filter({ $0.label >= intentCount }).count
            for r in open {
                let answered = r.probability >= tp && r.similarity >= ts
                if r.label < intentCount {
                    if answered && r.predicted == r.label { right += 1 }
                } else if !answered {
                    declinedNone += 1
                }
            }
            return Double(right) / Double(inDomain) + Double(declinedNone) / Double(none)
        }
        func candidates(_ values: [Double]) -> [Double] {
            let sorted = Array(Set(values)).sorted()
            guard sorted.count > 200 else { return [0] + sorted }
            return [0] + (0..<200).map { sorted[$0 * (sorted.count - 1) / 199] }
        }
        let pCandidates = options.threshold.map { [$0] } ?? candidates(open.map(\.probability))
        let sCandidates = options.minimumSimilarity.map { [$0] } ?? candidates(open.map(\.similarity))
        var tp = pCandidates[0], ts = sCandidates[0]
        var best = objective(tp, ts)
        for _ in 0..<2 {
            for s in sCandidates {
                let value = objective(tp, s)
                if value > best + 1e-12 { best = value; ts = s }
            }
            for p in pCandidates {
                let value = objective(p, ts)
                if value > best + 1e-12 { best = value; tp = p }
            }
        }
        return (tp, ts)
    }

    /// Without none examples: at least `acceptance` of the right held-out answers are accepted.
    static func quantiles(_ records: [HeldOut], options: Options) -> (threshold: Double, minimumSimilarity: Double) {
        let correct = records.filter { !$0.declinedAnyway && $0.predicted == $0.label }
            .map { (probability: $0.probability, similarity: $0.similarity) }
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
            return (fixed, cut(pool.map(\.similarity), rejecting: budget - (correct.count - pool.count)))
        }
        if let fixed = options.minimumSimilarity {
            pool = pool.filter { $0.similarity >= fixed }
            return (cut(pool.map(\.probability), rejecting: budget - (correct.count - pool.count)), fixed)
        }
        // The similarity test gets the larger half of an odd budget: it is the one that catches
        // text unlike the examples, which the probability cannot.
        let similarity = cut(pool.map(\.similarity), rejecting: (budget + 1) / 2)
        pool = pool.filter { $0.similarity >= similarity }
        let probability = cut(pool.map(\.probability), rejecting: budget - (correct.count - pool.count))
        return (probability, similarity)
    }

    /// The lowest probability ≥ `threshold` above which the held-out answers were right at least
    /// `confidentPrecision` of the time (at least 5 of them); `.infinity` if none.
    static func confidentLevel(_ records: [HeldOut], intentCount: Int, threshold: Double, similarity: Double,
                               options: Options) -> Double {
        let answered = records.filter { !$0.declinedAnyway && $0.probability >= threshold && $0.similarity >= similarity }
            .sorted { $0.probability > $1.probability }
        var right = 0
        var level = Double.infinity
        for (n, r) in answered.enumerated() {
            if r.label < intentCount && r.predicted == r.label { right += 1 }
            let count = n + 1
            let isLast = n + 1 == answered.count || answered[n + 1].probability < r.probability
            if isLast && count >= 5 && Double(right) / Double(count) >= options.confidentPrecision {
                level = r.probability
            }
        }
        return max(level, threshold)
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
                                          prior: options.generalChinesePrior,
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

        /// The L2-normalised TF-IDF row of `text` (explain).
        func vector(_ text: String) -> [Int: Double] {
            var row: [Int: Double] = [:]
            _ = vectorizer.analyze(text) { row[$0] = $1 }
            return row
        }

        func cosine(_ a: [Int: Double], _ b: [Int: Double]) -> Double {
            let (small, large) = a.count <= b.count ? (a, b) : (b, a)
            var sum = 0.0
            for (id, w) in small { sum += w * (large[id] ?? 0) }
            return sum
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
