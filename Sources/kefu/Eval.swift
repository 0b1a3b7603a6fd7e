import ArgumentParser
import Foundation
import KefuRules

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a rule set's intents on labelled messages: accuracy, macro-F1, per intent, and the pairs it confuses.",
        discussion: """
            The file is tab-separated, one message per line: the text, a tab, the expected intent
            (`none` for a message that should match no intent). Lines starting with # are skipped.

              kefu eval --rules Rules/shop Corpora/shop-intents.tsv
            """
    )

    @Option(help: ArgumentHelp("The rule set whose intents to measure.", valueName: "rules-dir")) var rules: String
    @Argument(help: ArgumentHelp("Labelled messages: text<TAB>intent per line.", valueName: "file.tsv")) var file: String
    @Option(help: "How many confusion pairs to list.") var top = 10

    func run() throws {
        let compiled: CompiledRules
        do { compiled = try RuleSetCompiler.compile(directory: rules) } catch {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw ExitCode(1)
        }
        guard compiled.intentClassifier != nil else { throw ValidationError("\(rules) declares no intents: nothing to evaluate.") }
        let labelled = try Self.read(file)
        let known = Set(compiled.spec.intents.map(\.name)).union([IntentEvaluation.none])
        for label in Set(labelled.map(\.label)).subtracting(known).sorted() {
            var stderr = StandardError()
            print("warning: '\(label)' is not an intent of \(rules) (known: \(known.sorted().joined(separator: ", "))); its messages can never be right", to: &stderr)
        }
        let evaluation = IntentEvaluation(rules: compiled, labelled: labelled)
        print("\(labelled.count) messages, \(evaluation.labels.count) labels")
        print("accuracy  \(Self.format(evaluation.accuracy))")
        print("macro-F1  \(Self.format(evaluation.macroF1))")
        print("")
        print("intent".padding(toLength: 20, withPad: " ", startingAt: 0) + "precision  recall  F1      support")
        for score in evaluation.scores {
            print(score.label.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + "\(Self.format(score.precision))      \(Self.format(score.recall))   \(Self.format(score.f1))   \(score.support)")
        }
        let confusions = evaluation.confusions
        print("")
        print(confusions.isEmpty ? "no confusions" : "confused (expected → predicted):")
        for c in confusions.prefix(top) {
            print("  \(c.expected) → \(c.predicted): \(c.count)  e.g. “\(c.example)”")
        }
    }

    static func read(_ path: String) throws -> [(text: String, label: String)] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(validating: data, as: UTF8.self) else {
            throw ValidationError("\(path) cannot be read as UTF-8 text.")
        }
        var result: [(String, String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw ValidationError("\(path):\(number + 1): expected the text, a tab and the intent; got '\(trimmed.prefix(60))'")
            }
            result.append((String(fields[0]), String(fields[1]).trimmingCharacters(in: .whitespaces)))
        }
        if result.isEmpty { throw ValidationError("\(path) has no labelled messages.") }
        return result
    }

    static func format(_ value: Double) -> String {
        let n = Int((value * 1000).rounded())
        return "\(n / 1000).\(String(repeating: "0", count: 3 - String(n % 1000).count))\(n % 1000)"
    }
}
