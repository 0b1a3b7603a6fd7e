/// How well a rule set's intents name real customer messages: accuracy, macro-F1 and the pairs the
/// classifier confuses (`kefu eval`). A message whose expected label is `none` should match no intent.
public struct IntentEvaluation: Sendable {
    public struct Sample: Sendable, Equatable {
        public var text: String
        public var expected: String
        public var predicted: String
    }

    public struct LabelScore: Sendable, Equatable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// How many samples expect this label.
        public var support: Int
    }

    public static let none = "none"

    public var samples: [Sample]

    /// Classifies each (text, expected label) with the rule set's normalizer and classifier.
    public init(rules: CompiledRules, labelled: [(text: String, label: String)]) {
        samples = labelled.map { item in
            let normalized = rules.normalizer.normalize(item.text).string
            let predicted = rules.intentClassifier.flatMap { normalized.isEmpty ? nil : $0.classify(normalized).intent } ?? Self.none
            return Sample(text: item.text, expected: item.label, predicted: predicted)
        }
    }

    public var accuracy: Double {
        samples.isEmpty ? 0 : Double(samples.filter { $0.expected == $0.predicted }.count) / Double(samples.count)
    }

    /// Every label that is expected or predicted, sorted.
    public var labels: [String] { Set(samples.flatMap { [$0.expected, $0.predicted] }).sorted() }

    public var scores: [LabelScore] {
        labels.map { label in
            let tp = samples.filter { $0.expected == label && $0.predicted == label }.count
            let predicted = samples.filter { $0.predicted == label }.count
            let support = samples.filter { $0.expected == label }.count
            let precision = predicted == 0 ? 0 : Double(tp) / Double(predicted)
            let recall = support == 0 ? 0 : Double(tp) / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return LabelScore(label: label, precision: precision, recall: recall, f1: f1, support: support)
        }
    }

    /// The unweighted mean F1 over ``labels``.
    public var macroF1: Double {
        let all = scores
        return all.isEmpty ? 0 : all.map(\.f1).reduce(0, +) / Double(all.count)
    }

    /// (expected, predicted, count) for the mistakes, most frequent first, with an example text each.
    public var confusions: [(expected: String, predicted: String, count: Int, example: String)] {
        var counts: [String: (String, String, Int, String)] = [:]
        for s in samples where s.expected != s.predicted {
            let key = s.expected + "\u{0}" + s.predicted
            let current = counts[key] ?? (s.expected, s.predicted, 0, s.text)
            counts[key] = (current.0, current.1, current.2 + 1, current.3)
        }
        return counts.values.sorted { ($0.2, $1.0, $1.1) > ($1.2, $0.0, $0.1) }.map { (expected: $0.0, predicted: $0.1, count: $0.2, example: $0.3) }
    }
}
