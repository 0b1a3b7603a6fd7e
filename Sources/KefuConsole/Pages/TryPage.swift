import Foundation
import KefuCorpus
import KefuAnalytics
import KefuDialogue
import KefuRules
import KefuWeChat
import Synchronization

/// 试一试: talk to the live rule set as a test user (a simulator with its own memory store: no real
/// customer, no real call — services answer from the corpus's mocks), and run the conversation tests.
enum TryPage {
    static func render(_ c: PageContext) async -> ConsolePage {
        let room = await c.site.rooms.room(for: c.request.user.name, account: c.account.id)
        let rules = await c.account.rules()
        var html = "<p class=\"note\">你是测试用户 <code>\(HTML.escape(room.user))</code>：对话只存在于这个页面，不会发给任何客户，调用由测试用例的 mock 回答。</p>"
        html += "<div class=\"chat\" id=\"chat\">"
        if room.turns.isEmpty { html += "<p class=\"empty\">还没有对话。发一句试试，比如“运费多少”。</p>" }
        for turn in room.turns {
            html += "<div class=\"turn\"><div class=\"said\">\(HTML.escape(turn.said))</div><div class=\"bot\">\(HTML.escape(turn.reply).replacingOccurrences(of: "\n", with: "<br>"))</div>"
                + "<div class=\"note\">\(HTML.escape(turn.answeredBy))</div>"
                + (turn.trace.isEmpty ? "" : "<details><summary>匹配过程</summary><pre class=\"trace\">\(HTML.escape(turn.trace))</pre></details>") + "</div>"
        }
        html += "</div>"
        let hidden = HTML.csrfField(c.request.csrfToken)
            + (c.site.accounts.count > 1 ? "<input type=\"hidden\" name=\"account\" value=\"\(HTML.escape(c.account.id))\">" : "")
        html += "<form method=\"post\" action=\"/console/try/send\" class=\"say\">\(hidden)"
            + "<input type=\"text\" name=\"text\" id=\"say\" placeholder=\"像客户一样输入…\" autocomplete=\"off\" autofocus> <button type=\"submit\" id=\"send\">发送</button></form>"
        html += "<form method=\"post\" action=\"/console/try/send\" class=\"events\">\(hidden)<button name=\"event\" value=\"subscribe\">关注公众号</button>"
        for (key, button) in rules?.menu?.keys ?? [] {
            html += " <button name=\"click\" value=\"\(HTML.escape(key))\">菜单：\(HTML.escape(button.name))</button>"
        }
        html += "</form><form method=\"post\" action=\"/console/try/reset\">\(hidden)<button type=\"submit\">重新开始</button></form>"

        html += "<h2>对话测试</h2>"
        if c.account.corpus.isEmpty {
            html += "<p class=\"note\">没有配置测试用例（kefu serve --corpus 文件夹）。</p>"
        } else {
            html += "<p class=\"note\">用现在的规则集运行 \(HTML.escape(c.account.corpus.joined(separator: ", "))) 里的用例。</p>"
            html += "<form method=\"post\" action=\"/console/try/tests\">\(hidden)<button type=\"submit\" id=\"run-tests\">运行测试</button></form>"
        }
        if let tests = room.tests {
            html += "<div id=\"test-result\"><p class=\"\(tests.failed == 0 ? "ok" : "error")\" id=\"test-summary\">\(tests.cases) 个用例：\(tests.cases - tests.failed) 个通过，\(tests.failed) 个失败；覆盖率 \(String(format: "%.1f", tests.coverage))%</p>"
            if !tests.failures.isEmpty {
                html += "<ul class=\"failures\">"
                for f in tests.failures { html += "<li><pre class=\"wrap\">\(HTML.escape(f))</pre></li>" }
                html += "</ul>"
            }
            if !tests.notReached.isEmpty {
                html += "<details><summary>没有覆盖到的（\(tests.notReached.count)）</summary><ul>"
                for n in tests.notReached { html += "<li>\(HTML.escape(n))</li>" }
                html += "</ul></details>"
            }
            html += "</div>"
        }
        return ConsolePage(title: "试一试", body: html)
    }

    static func send(_ c: PageContext) async -> ConsoleAnswer {
        guard let rules = await c.account.rules() else { return .redirect(c.link("try")) }
        let form = c.request.form
        let content: InboundMessage.Content
        let said: String
        let input: MatchInput
        if let text = form["text"]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            content = .text(.init(content: String(text.prefix(600)))); said = text; input = .text(text)
        } else if let key = form["click"], !key.isEmpty {
            content = .event(.click(key: key)); said = "［点击菜单 \(key)］"; input = .event(.click(key: key))
        } else if form["event"] == "subscribe" {
            content = .event(.subscribe(scene: nil, ticket: nil)); said = "［关注］"; input = .event(.subscribe(scene: nil))
        } else {
            return .redirect(c.link("try"))
        }
        let version = await c.account.summary().rulesVersion ?? ""
        await c.site.rooms.send(content, said: said, input: input, rules: rules, rulesVersion: version, corpus: c.account.corpus,
                                for: c.request.user.name, account: c.account.id, now: c.now)
        return .redirect(c.link("try"))
    }

    static func reset(_ c: PageContext) -> ConsoleAnswer {
        c.site.rooms.reset(for: c.request.user.name, account: c.account.id)
        return .redirect(c.link("try"))
    }

    static func runTests(_ c: PageContext) async -> ConsoleAnswer {
        guard let rules = await c.account.rules(), !c.account.corpus.isEmpty else { return .redirect(c.link("try")) }
        let result: TryRooms.Tests
        do {
            let cases = try CorpusLoader.load(paths: c.account.corpus)
            let results = await CorpusRunner(rules: rules).run(cases, parallelism: 1)
            let coverage = Coverage(rules: rules, results: results)
            var failures: [String] = []
            for r in results where !r.passed {
                var text = "\(r.testCase.name)（\(Report.shortFile(r.testCase.location.file)):\(r.testCase.location.line)）"
                if let error = r.error { text += "\n  \(error)" }
                for f in r.failures.prefix(5) {
                    text += "\n  第 \(f.step + 1) 步 \(f.key)：期望 \(f.expected)\n           实际 \(f.actual)"
                }
                failures.append(text)
            }
            result = .init(cases: results.count, failed: results.filter { !$0.passed }.count, coverage: coverage.percent, failures: failures,
                           notReached: coverage.missing.map { "\($0.kind.rawValue) \($0.name)" })
        } catch {
            result = .init(cases: 0, failed: 1, coverage: 0, failures: ["用例文件有错：\(error)"], notReached: [])
        }
        c.site.rooms.setTests(result, for: c.request.user.name, account: c.account.id)
        return .redirect(c.link("try"))
    }
}

/// The test conversations of signed-in console users, one per user and account, in memory.
final class TryRooms: Sendable {
    struct Turn: Sendable { var said: String; var reply: String; var answeredBy: String; var trace: String }
    struct Tests: Sendable { var cases: Int; var failed: Int; var coverage: Double; var failures: [String]; var notReached: [String] }
    struct Room: Sendable {
        var user: String
        var turns: [Turn] = []
        var tests: Tests?
        var simulator: SimulatorBox?
    }
    final class SimulatorBox: @unchecked Sendable {  // used inside the room's lock only by one send at a time (the mutex below)
        let simulator: Simulator
        let rulesVersion: String
        init(_ simulator: Simulator, _ rulesVersion: String) { self.simulator = simulator; self.rulesVersion = rulesVersion }
    }

    private let rooms = Mutex<[String: Room]>([:])
    /// One send at a time per process (the simulator is not for concurrent use; the console is for people).
    private let sending = AsyncLock()

    static func key(_ user: String, _ account: String) -> String { "\(account)|\(user)" }

    func room(for user: String, account: String) async -> Room {
        rooms.withLock { $0[Self.key(user, account)] ?? Room(user: "console-test-" + user) }
    }

    func reset(for user: String, account: String) {
        _ = rooms.withLock { $0.removeValue(forKey: Self.key(user, account)) }
    }

    func setTests(_ tests: Tests, for user: String, account: String) {
        rooms.withLock { $0[Self.key(user, account), default: Room(user: "console-test-" + user)].tests = tests }
    }

    func send(_ content: InboundMessage.Content, said: String, input: MatchInput, rules: CompiledRules, rulesVersion version: String, corpus: [String],
              for user: String, account: String, now: Int64) async {
        await sending.run {
            let key = Self.key(user, account)
            var room = rooms.withLock { $0[key] ?? Room(user: "console-test-" + user) }
            if room.simulator?.rulesVersion != version {
                // A new rule set (a reload): a fresh simulator on it; the conversation so far stays on the page.
                let mocks = (try? CorpusLoader.mocks(paths: corpus)) ?? []
                let simulator = Simulator(rules: rules, store: MemoryStore(logLimit: 200), clock: VirtualClock(now), calls: SimulatedCalls(mocks: mocks, rules: rules))
                room.simulator = SimulatorBox(simulator, version)
            }
            let simulator = room.simulator!.simulator
            if simulator.clock.now() < now { simulator.clock.set(now) } else { simulator.clock.advance(by: 1) }
            let local = LocalTime(unixTime: simulator.clock.now(), utcOffset: rules.settings.utcOffset)
            let trace = Explanation(rules, input, at: local).render()
            let turn: Turn
            do {
                let outcome = try await simulator.send(content, from: room.user)
                let reply = outcome.messages.map(\.preview).joined(separator: "\n")
                var by = outcome.answeredBy.isEmpty ? "（无需回复）" : outcome.answeredBy
                if let flow = outcome.flow { by += " · 流程 \(flow)" + (outcome.step.map { " · 等待 \($0)" } ?? "") }
                turn = Turn(said: said, reply: reply.isEmpty ? "（没有回复）" : reply, answeredBy: by, trace: trace)
            } catch {
                turn = Turn(said: said, reply: "（出错：\(error)）", answeredBy: "", trace: trace)
            }
            room.turns.append(turn)
            if room.turns.count > 100 { room.turns.removeFirst(room.turns.count - 100) }
            rooms.withLock { $0[key] = room }
        }
    }
}

/// One task at a time through `run`.
actor AsyncLock {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        while busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        let value = await body()
        busy = false
        if !waiting.isEmpty { waiting.removeFirst().resume() }
        return value
    }
}
