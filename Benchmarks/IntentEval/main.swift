// IntentEval: cross-validated accuracy of KefuRules.IntentClassifier on a labelled TSV, on the
// folds written by scripts/intent-baseline.py (so both systems see the same splits).
//
//   IntentEval FILE.tsv --folds folds.json [--json out.json] [--ood OTHER.tsv]
//              [--ngrams 1-3] [--c 10] [--unbalanced] [--no-boundaries] [--no-sublinear]
//              [--max-iterations 300] [--tolerance 1e-2] [--acceptance 0.95]
//              [--calibration-folds 3] [--closed-only]
//              [--ood-set Corpora/intents/out-of-domain.tsv] [--no-builtin-none] [--no-prior]
//
// The option flags override IntentClassifier.Options (defaults shown) for tuning; --closed-only
// skips the calibrated model (faster, for tuning the closed-set score).
//
// FILE.tsv: `id<TAB>text<TAB>label` with a header line. Normalization, identical to the
// Python baseline: ASCII A-Z lowercased, nothing else.
//
// Two scores per corpus, both over the pooled out-of-fold predictions:
// - closed: thresholds fixed at 0 (Options.threshold = 0, minimumSimilarity = 0), the same task
//   as the baseline (always name an intent); nil only for a text sharing no n-gram with the
//   training part, counted as wrong.
// - default: Options() as shipped, with the thresholds calibrated on the training part;
//   every nil ("none of them") counts as wrong, although the data has no out-of-domain text.
// Macro-F1 = mean over the gold labels of per-label F1 (as in the baseline script).
// --ood OTHER.tsv: texts of an unrelated corpus; reports the share of them the default model
// trained on all of FILE.tsv answers with nil (out-of-domain rejection).
// --ood-set FILE.tsv: ordinary customer-service messages no intent should answer (the labels are
// categories); reports the share the default model trained on all of FILE.tsv declines, overall
// and per category.
// The default model learns BuiltinNone as its "none" class, as every rule set does
// (--no-builtin-none: without it); --no-prior switches off the general-Chinese idf prior. Both
// off reproduce the classifier of commit 8dbfe2b.
// Training time is per fold (closed = one fit; default = one fit + the calibration folds);
// classification time is per message, averaged over repeated passes over the held-out part.
// Run it from a release build: scripts/eval-intents.

import Foundation
import KefuRules

struct Failure: Error, CustomStringConvertible {
    var description: String
}

func normalize(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    for s in text.unicodeScalars {
        if s.value >= 0x41 && s.value <= 0x5A {
            scalars.append(Unicode.Scalar(s.value + 0x20)!)
        } else {
            scalars.append(s)
        }
    }
    return String(scalars)
}

struct Row {
    var id: String
    var text: String
    var label: String
}

func readTSV(_ path: String) throws -> [Row] {
    let content = try String(contentsOfFile: path, encoding: .utf8)
    var lines = content.split(separator: "\n", omittingEmptySubsequences: true).map {
        $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    guard let header = lines.first, header.split(separator: "\t").prefix(3) == ["id", "text", "label"] else {
        throw Failure(description: "\(path): expected header id<TAB>text<TAB>label")
    }
    lines.removeFirst()
    return try lines.map { line in
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count >= 3 else { throw Failure(description: "\(path): bad line: \(line)") }
        return Row(id: String(fields[0]), text: normalize(String(fields[1])), label: String(fields[2]))
    }
}

func macroF1(gold: [String], predicted: [String?]) -> Double {
    let labels = Set(gold).sorted()
    var total = 0.0
    for label in labels {
        var tp = 0, fp = 0, fn = 0
        for (g, p) in zip(gold, predicted) {
            if g == label && p == label { tp += 1 }
            if g != label && p == label { fp += 1 }
            if g == label && p != label { fn += 1 }
        }
        total += tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn)
    }
    return total / Double(labels.count)
}

func accuracy(gold: [String], predicted: [String?]) -> Double {
    Double(zip(gold, predicted).filter { $0 == $1 }.count) / Double(gold.count)
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

func run() throws {
    var arguments = Array(CommandLine.arguments.dropFirst())
    var file: String?
    var foldsPath: String?
    var jsonPath: String?
    var oodPath: String?
    var options = IntentClassifier.Options()
    var closedOnly = false
    var oodSetPath: String?
    var builtinNone = true
    func value(_ name: String) throws -> String {
        guard !arguments.isEmpty else { throw Failure(description: "\(name) needs a value") }
        return arguments.removeFirst()
    }
    while !arguments.isEmpty {
        let a = arguments.removeFirst()
        switch a {
        case "--folds": foldsPath = try value(a)
        case "--json": jsonPath = try value(a)
        case "--ood": oodPath = try value(a)
        case "--ood-set": oodSetPath = try value(a)
        case "--no-builtin-none": builtinNone = false
        case "--no-prior": options.generalChinesePrior = false
        case "--ngrams":
            let parts = try value(a).split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
                throw Failure(description: "--ngrams MIN-MAX")
            }
            options.ngrams = parts[0]...parts[1]
        case "--c": options.inverseRegularization = Double(try value(a)) ?? options.inverseRegularization
        case "--unbalanced": options.balancedClassWeights = false
        case "--closed-only": closedOnly = true
        case "--calibration-folds": options.calibrationFolds = Int(try value(a)) ?? options.calibrationFolds
        case "--no-boundaries": options.boundaryMarkers = false
        case "--no-sublinear": options.sublinearTF = false
        case "--max-iterations": options.maxIterations = Int(try value(a)) ?? options.maxIterations
        case "--tolerance": options.tolerance = Double(try value(a)) ?? options.tolerance
        case "--acceptance": options.acceptance = Double(try value(a)) ?? options.acceptance
        case "-h", "--help":
            print("usage: IntentEval FILE.tsv --folds folds.json [--json out.json] [--ngrams 1-3] [--c 10] "
                + "[--unbalanced] [--no-boundaries] [--no-sublinear] [--max-iterations N] [--tolerance X] "
                + "[--acceptance A] [--calibration-folds K] [--closed-only]")
            return
        default:
            if a.hasPrefix("-") || file != nil { throw Failure(description: "unexpected argument \(a)") }
            file = a
        }
    }
    guard let file, let foldsPath else {
        throw Failure(description: "usage: IntentEval FILE.tsv --folds folds.json (see --help)")
    }
    let rows = try readTSV(file)
    let foldData = try Data(contentsOf: URL(fileURLWithPath: foldsPath))
    guard let spec = try JSONSerialization.jsonObject(with: foldData) as? [String: Any],
          let k = spec["k"] as? Int, let assignment = spec["folds"] as? [String: Int] else {
        throw Failure(description: "\(foldsPath): expected {\"k\": N, \"folds\": {id: fold}}")
    }
    let fold = try rows.map { row -> Int in
        guard let f = assignment[row.id] else { throw Failure(description: "\(foldsPath): no fold for \(row.id)") }
        return f
    }

    var closedOptions = options
    closedOptions.threshold = 0
    closedOptions.minimumSimilarity = 0

    var closed = [String?](repeating: nil, count: rows.count)
    var calibrated = [String?](repeating: nil, count: rows.count)
    var confident = [Bool](repeating: false, count: rows.count)
    var closedTrain: [Double] = []
    var defaultTrain: [Double] = []
    var classifyTimes: [Double] = []
    var thresholds: [(Double, Double)] = []
    let clock = ContinuousClock()
    print("\(file): \(rows.count) examples, \(Set(rows.map(\.label)).count) labels, \(k) folds")
    for f in 0..<k {
        let train = rows.indices.filter { fold[$0] != f }
        let test = rows.indices.filter { fold[$0] == f }
        guard !test.isEmpty else { continue }
        let examples = train.map { (intent: rows[$0].label, text: rows[$0].text) }
        let none = builtinNone ? BuiltinNone.examples(normalize: normalize, excludingLike: examples.map(\.text)).examples : []

        var start = clock.now
        let closedModel = IntentClassifier(examples: examples, options: closedOptions)
        let closedTime = seconds(clock.now - start)
        start = clock.now
        // --closed-only (for tuning): skip the calibrated model, reuse the closed one.
        let defaultModel = closedOnly ? closedModel : IntentClassifier(examples: examples, none: none, options: options)
        let defaultTime = seconds(clock.now - start)
        closedTrain.append(closedTime)
        defaultTrain.append(defaultTime)
        thresholds.append((defaultModel.threshold, defaultModel.minimumSimilarity))

        for i in test {
            closed[i] = closedModel.classify(rows[i].text).intent
            let prediction = defaultModel.classify(rows[i].text)
            calibrated[i] = prediction.intent
            confident[i] = prediction.isConfident
        }
        // Per-message time: repeat passes over the held-out texts for at least 0.2 s.
        let texts = test.map { rows[$0].text }
        var messages = 0
        var sink = 0
        start = clock.now
        var elapsed = 0.0
        repeat {
            for t in texts {
                sink &+= defaultModel.classify(t).ranking.count
                messages += 1
            }
            elapsed = seconds(clock.now - start)
        } while elapsed < 0.2
        if sink == 0 { print("") }
        classifyTimes.append(elapsed / Double(messages))
        print(String(format: "fold %d: train %d, test %d; training %.1f ms closed / %.1f ms default; "
                + "classify %.1f µs/message; threshold %.3f, minimum similarity %.3f",
                     f, train.count, test.count, closedTime * 1000, defaultTime * 1000,
                     classifyTimes.last! * 1e6, defaultModel.threshold, defaultModel.minimumSimilarity))
    }
    let gold = rows.map(\.label)
    let closedAccuracy = accuracy(gold: gold, predicted: closed)
    let closedF1 = macroF1(gold: gold, predicted: closed)
    let defaultAccuracy = accuracy(gold: gold, predicted: calibrated)
    let defaultF1 = macroF1(gold: gold, predicted: calibrated)
    let noneRate = Double(calibrated.filter { $0 == nil }.count) / Double(rows.count)
    let accepted = zip(gold, calibrated).filter { $0.1 != nil }
    let acceptedAccuracy = accepted.isEmpty ? 0 : Double(accepted.filter { $0.0 == $0.1 }.count) / Double(accepted.count)
    let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(max(xs.count, 1)) }

    // Load-time cost on the whole file (what `kefu` pays when it loads rules of this size):
    // best of three, to keep scheduler noise out.
    let all = rows.map { (intent: $0.label, text: $0.text) }
    var fullClosed = Double.infinity, fullDefault = Double.infinity
    var fullModel: IntentClassifier?
    let allNone: (examples: [NoneExample], droppedCategories: [String]) = builtinNone
        ? BuiltinNone.examples(normalize: normalize, excludingLike: all.map(\.text)) : ([], [])
    if !allNone.droppedCategories.isEmpty {
        print("built-in none: categories left out because the examples say such things: \(allNone.droppedCategories.joined(separator: ", "))")
    }
    for _ in 0..<3 {
        var start = clock.now
        _ = IntentClassifier(examples: all, options: closedOptions)
        fullClosed = min(fullClosed, seconds(clock.now - start))
        if !closedOnly {
            start = clock.now
            fullModel = IntentClassifier(examples: all, none: allNone.examples, options: options)
            fullDefault = min(fullDefault, seconds(clock.now - start))
        }
    }
    var oodRejected: Double?
    if let oodPath, let fullModel {
        let ood = try readTSV(oodPath)
        oodRejected = Double(ood.filter { fullModel.classify($0.text).intent == nil }.count) / Double(max(ood.count, 1))
    }
    var oodSetDeclined: Double?
    if let oodSetPath, let fullModel {
        let ood = try readTSV(oodSetPath)
        var byCategory: [String: (declined: Int, total: Int)] = [:]
        for row in ood {
            let declined = fullModel.classify(row.text).intent == nil
            byCategory[row.label, default: (0, 0)].total += 1
            if declined { byCategory[row.label, default: (0, 0)].declined += 1 }
        }
        let declined = byCategory.values.map(\.declined).reduce(0, +)
        oodSetDeclined = Double(declined) / Double(max(ood.count, 1))
        print(String(format: "out-of-domain set (%@): %.1f%% declined (%d of %d)", oodSetPath, oodSetDeclined! * 100, declined, ood.count))
        print("  by category: " + byCategory.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value.declined)/\($0.value.total)" }.joined(separator: ", "))
        let answered = ood.compactMap { row in fullModel.classify(row.text).intent.map { "\(row.text)→\($0)" } }
        if !answered.isEmpty { print("  answered: " + answered.prefix(30).joined(separator: "  ")) }
    }
    let confidentRows = rows.indices.filter { confident[$0] }
    let confidentPrecision = confidentRows.isEmpty ? 0
        : Double(confidentRows.filter { calibrated[$0] == gold[$0] }.count) / Double(confidentRows.count)
    print(String(format: "confident answers: %.1f%% of the messages, %.4f of them right",
                 Double(confidentRows.count) / Double(rows.count) * 100, confidentPrecision))
    print(String(format: "Kefu closed (thresholds 0):   accuracy %.4f  macro-F1 %.4f", closedAccuracy, closedF1))
    print(String(format: "Kefu default (calibrated):    accuracy %.4f  macro-F1 %.4f  (none %.1f%%; accuracy of the answered %.4f)",
                 defaultAccuracy, defaultF1, noneRate * 100, acceptedAccuracy))
    print(String(format: "training %.1f ms closed / %.1f ms default per fold (mean); classify %.1f µs/message",
                 mean(closedTrain) * 1000, mean(defaultTrain) * 1000, mean(classifyTimes) * 1e6))
    print(String(format: "training on all %d examples × %d intents: %.1f ms closed / %.1f ms default (best of 3)",
                 rows.count, Set(gold).count, fullClosed * 1000, closedOnly ? 0 : fullDefault * 1000))
    if let oodRejected, let oodPath, let fullModel {
        print(String(format: "out-of-domain (%@): %.1f%% answered none of them (threshold %.3f, minimum similarity %.3f)",
                     oodPath, oodRejected * 100, fullModel.threshold, fullModel.minimumSimilarity))
    }

    if let jsonPath {
        let result: [String: Any] = [
            "system": "kefu", "file": file, "examples": rows.count, "k": k,
            "closed_accuracy": closedAccuracy, "closed_macro_f1": closedF1,
            "default_accuracy": defaultAccuracy, "default_macro_f1": defaultF1,
            "default_none_rate": noneRate, "default_answered_accuracy": acceptedAccuracy,
            "train_ms_closed": mean(closedTrain) * 1000, "train_ms_default": mean(defaultTrain) * 1000,
            "classify_us": mean(classifyTimes) * 1e6,
            "train_all_ms_closed": fullClosed * 1000, "train_all_ms_default": closedOnly ? 0 : fullDefault * 1000,
            "labels": Set(gold).count,
            "ood_rejected": oodRejected ?? -1,
            "ood_set_declined": oodSetDeclined ?? -1,
            "confident_rate": Double(confidentRows.count) / Double(rows.count), "confident_precision": confidentPrecision,
            "builtin_none": builtinNone, "prior": options.generalChinesePrior,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: jsonPath))
    }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("IntentEval: \(error)\n".utf8))
    exit(1)
}
