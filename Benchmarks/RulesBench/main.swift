// Keyword automaton and whole-rule-set matching on the shared bench data; release build:
//   swift run -c release RulesBench [bench-data folder]
// A first look for the benchmark issue: build time, memory, messages per second (medians of 5).
import Foundation
import KefuRules

let data = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "../shared/bench-data"
func lines(_ name: String) -> [String] {
    guard let text = try? String(contentsOfFile: data + "/" + name, encoding: .utf8) else { fatalError("missing \(data)/\(name)") }
    return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}
let messages = lines("messages-100k.txt")
let normalizer = Normalizer()
let normalized = messages.map { normalizer.normalize($0).bytes }

func seconds(_ body: () -> Void) -> Double {
    let start = ContinuousClock.now
    body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

for file in ["keywords-1k.txt", "keywords-10k.txt", "keywords-100k.txt"] {
    let keywords = lines(file)
    var automaton: KeywordAutomaton!
    let build = seconds {
        var builder = KeywordAutomatonBuilder()
        for k in keywords { builder.add(normalizer.normalize(k).bytes) }
        automaton = builder.build()
    }
    var total = 0
    let scans = (0..<5).map { _ in
        seconds {
            var count = 0
            for m in normalized { m.withUnsafeBufferPointer { automaton.forEachMatch(in: $0) { _, _ in count += 1 } } }
            total = count
        }
    }
    let rate = Double(messages.count) / median(scans)
    print(String(format: "%-18@ build %.3f s, %5.1f MB, %7d states; scan %9.0f msg/s (%d matches)",
                 file as NSString, build, Double(automaton.memoryBytes) / 1e6, automaton.stateCount, rate, total))
}

// The shop sample end to end (normalize, scan, regexes, intents), per message.
if let rules = try? RuleSetCompiler.compile(directory: "Rules/shop") {
    let sample = Array(messages.prefix(20_000))
    let runs = (0..<5).map { _ in seconds { for m in sample { _ = rules.match(.text(m)) } } }
    print(String(format: "Rules/shop match()   %9.0f msg/s (normalize + automaton + regex + intent)", Double(sample.count) / median(runs)))
}
