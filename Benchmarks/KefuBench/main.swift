// Kefu's side of the benchmark table (issue 7), release build, one JSON object per line:
//   swift run -c release KefuBench [--data DIR] [--runs N] [--regex-1000 FILE] [workload-prefix ...]
// Workloads: keywords-1k/10k/100k (scan, msg/s), compile-1k/10k/100k (s, memory_mb), regex-100,
// regex-1000 (all matching patterns per message, msg/s), intent (msg/s), engine-rules and
// engine-flow (Engine.handle per message, msg/s), wechat-plaintext and wechat-secure (the adapter's
// whole path per message, msg/s). scripts/bench runs this beside the peers and prints the ratios.
import Foundation
import KefuDialogue
import KefuRules
import KefuWeChat

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    defer { arguments.removeSubrange(i...(i + 1)) }
    return arguments[i + 1]
}
let data = option("--data") ?? ProcessInfo.processInfo.environment["BENCH_DATA"] ?? "../shared/bench-data"
let runs = Int(option("--runs") ?? ProcessInfo.processInfo.environment["BENCH_RUNS"] ?? "5") ?? 5
let regex1000 = option("--regex-1000")
let only = arguments
@MainActor func wanted(_ workload: String) -> Bool { only.isEmpty || only.contains { workload.hasPrefix($0) } }

func lines(_ path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fatalError("missing \(path) (BENCH_DATA=folder)") }
    return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

func emit(_ workload: String, _ unit: String, _ values: [Double], matches: Int? = nil, memoryMB: Double? = nil, note: String? = nil) {
    var object: [String: Any] = ["workload": workload, "impl": "kefu", "unit": unit, "value": median(values), "runs": values]
    if let matches { object["matches"] = matches }
    if let memoryMB { object["memory_mb"] = memoryMB }
    if let note { object["note"] = note }
    let json = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(json + Data("\n".utf8))
}

// Remembering answered messages and accepted queries (the webhook's replay window): bytes per entry
// (resident memory before and after a million entries) and nanoseconds per insert + look-up. First of
// all workloads: resident memory only grows for it while the heap holds no pages freed by others.
if wanted("remember") {
    func residentBytes() -> Double {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
        return Double(statm.split(separator: " ")[1])! * 4096
    }
    let n = 1_000_000
    let keys = (0..<n).map { digest("gh_5d2b8e4c1a7f|oUser\($0 % 200_000)|\(24_612_345_678_901_234 + $0)|1718000000") }
    var answerBytes: [Double] = [], queryBytes: [Double] = [], nanos: [Double] = []
    for _ in 0..<3 {
        let before = residentBytes()
        var answers = RecentIndex<UInt64, Bool>(window: 660, maxEntries: .max)
        let t = seconds { for (i, k) in keys.enumerated() { answers.insert(k, true, at: Int64(i / 2_000)); consume(answers.value(for: k &+ 1, since: 0)) } }
        answerBytes.append((residentBytes() - before) / Double(n))
        nanos.append(t * 1e9 / Double(n))
        let middle = residentBytes()
        var queries = RecentIndex<UInt64, UInt64>(window: 660, maxEntries: .max)
        for (i, k) in keys.enumerated() { queries.insert(k, k, at: Int64(i / 2_000)) }
        queryBytes.append((residentBytes() - middle) / Double(n))
        consume(answers.count + queries.count)
    }
    emit("remember-answer", "bytes", answerBytes, note: "RSS per remembered answer (64-bit digest in a time bucket), 1M entries at 2k/s over 660 s")
    emit("remember-query", "bytes", queryBytes, note: "RSS per remembered signed query (digest → message digest)")
    emit("remember-ops", "ns", nanos, note: "one insert + one missing look-up across the buckets")
}

let messages = lines(data + "/messages-100k.txt")
let normalizer = Normalizer()

// Keywords: the automaton alone, on messages normalized beforehand (peers scan the raw text; the
// keyword lists are Chinese, which normalization leaves as it is).
for size in ["1k", "10k", "100k"] where wanted("keywords-\(size)") || wanted("compile-\(size)") {
    let keywords = lines(data + "/keywords-\(size).txt").map { normalizer.normalize($0).bytes }
    var automaton: KeywordAutomaton!
    let builds = (0..<3).map { _ in
        seconds {
            var builder = KeywordAutomatonBuilder()
            for k in keywords { builder.add(k) }
            automaton = builder.build()
        }
    }
    if wanted("compile-\(size)") {
        emit("compile-\(size)", "s", builds, memoryMB: Double(automaton.memoryBytes) / 1e6, note: "\(automaton.stateCount) states")
    }
    if wanted("keywords-\(size)") {
        // The messages in one buffer with their offsets, as the C peers hold them (no per-message array).
        var flat: [UInt8] = []
        var bounds: [Int] = [0]
        for m in messages { flat += normalizer.normalize(m).bytes; bounds.append(flat.count) }
        var total = 0
        let rates = (0..<runs).map { _ in
            let t = seconds {
                var count = 0
                flat.withUnsafeBufferPointer { all in
                    bounds.withUnsafeBufferPointer { b in
                        for i in 0..<(b.count - 1) {
                            automaton.forEachMatch(in: UnsafeBufferPointer(rebasing: all[b[i]..<b[i + 1]])) { _, _ in count += 1 }
                        }
                    }
                }
                total = count
            }
            return Double(messages.count) / t
        }
        emit("keywords-\(size)", "msg/s", rates, matches: total, note: "messages normalized beforehand, held in one buffer")
    }
}

// Regexes: a rule set of one regex rule per pattern; every matching rule per message (match()
// includes normalization and the literal prefilter).
func regexRules(_ patterns: [String]) throws -> CompiledRules {
    let rules = patterns.enumerated().map { i, p in "  - id: r\(i)\n    when: {regex: '\(p.replacingOccurrences(of: "'", with: "''"))'}\n    reply: x\n" }
    return try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "regex.yaml", text: "rules:\n" + rules.joined())]))
}
for (name, path) in [("regex-100", data + "/regex-100.txt"), ("regex-1000", regex1000)] where wanted(name) {
    guard let path else { continue }
    let patterns = lines(path)
    do {
        let rules = try regexRules(patterns)
        var total = 0
        let rates = (0..<runs).map { _ in
            let t = seconds {
                var count = 0
                for m in messages { count += rules.match(.text(m)).candidates.count }
                total = count
            }
            return Double(messages.count) / t
        }
        emit(name, "msg/s", rates, matches: total, note: "\(patterns.count) patterns; match() per message incl. normalization")
    } catch {
        emit(name, "msg/s", [0], note: "does not compile: \((error as? RuleSetError)?.diagnostics.first?.message ?? "\(error)")")
    }
}

let shop = try RuleSetCompiler.compile(directory: "Rules/shop")
if wanted("intent"), let classifier = shop.intentClassifier {
    let normalized = messages.map { normalizer.normalize($0).string }
    let rates = (0..<runs).map { _ in Double(normalized.count) / seconds { for m in normalized { consume(classifier.classify(m)) } } }
    emit("intent", "msg/s", rates, note: "Rules/shop classifier, \(shop.spec.intents.count) intents, normalized text")
}

let engine = Engine(rules: shop)
func message(_ text: String, _ i: Int) -> InboundMessage {
    InboundMessage(toUserName: "gh_bench", fromUserName: "o_bench", createTime: 1_795_572_000, msgId: UInt64(i), content: .text(.init(content: text)))
}
if wanted("engine-rules") {
    let pushes = messages.prefix(20_000).enumerated().map { message($0.element, $0.offset) }
    let rates = (0..<runs).map { _ in Double(pushes.count) / seconds { for m in pushes { consume(engine.handle(m, session: nil, now: 1_795_572_000)) } } }
    emit("engine-rules", "msg/s", rates, note: "Rules/shop: normalize, match, render, reply; no session")
}
if wanted("engine-flow") {
    // A user at the phone step of after-sales answers with a phone number: the flow fills the slot
    // and renders the confirm step.
    let now: Int64 = 1_795_572_000
    let session = Session(user: "o_bench", flow: FlowProgress(name: "after-sales", slots: ["order": "DD202406110001", "reason": "发错货"],
                                                           step: 3, startedAt: now, lastActivity: now, expiresAt: now + 1800), updatedAt: now)
    let pushes = (0..<20_000).map { message("我的手机是 1381234\(String(format: "%04d", $0 % 10_000))", $0) }
    let rates = (0..<runs).map { _ in Double(pushes.count) / seconds { for m in pushes { consume(engine.handle(m, session: session, now: now)) } } }
    emit("engine-flow", "msg/s", rates, note: "Rules/shop after-sales: the phone step filled, the confirm step rendered")
}

// The WeChat adapter per message: verify (+ decrypt) + parse + reply + (encrypt + sign).
let configuration = WeChatConfiguration(token: "SwiftBotToken2024", appID: "wx3f2a1b4c5d6e7f80",
                                        aesKey: try EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
                                        timestampToleranceSeconds: nil, accepted: .compatible)
let endpoint = try WeChatEndpoint(configuration)
let platform = try WeChatPlatform(configuration)
for mode in [SecurityMode.plaintext, .secure] where wanted("wechat-\(mode.rawValue)") {
    let (query, body) = try platform.push(message("运费多少？", 1), mode: mode, timestamp: 1_718_003_600, nonce: "1830464542")
    let n = 20_000
    let rates = try (0..<runs).map { _ in
        Double(n) / (try seconds {
            for _ in 0..<n {
                let opened = try endpoint.open(body, query: query, now: 1_718_003_600)
                let reply = try Reply.answering(opened.message, with: .text("全场满 99 元包邮，不满 99 元运费 8 元。"), at: 1_718_003_601)
                consume(try endpoint.seal(.reply(reply), for: opened, timestamp: 1_718_003_601, nonce: opened.nonce))
            }
        })
    }
    emit("wechat-\(mode.rawValue)", "msg/s", rates, note: "verify\(mode == .secure ? " + decrypt" : "") + parse + reply\(mode == .secure ? " + encrypt + sign" : "")")
}
