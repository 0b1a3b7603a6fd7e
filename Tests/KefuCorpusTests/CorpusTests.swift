import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KefuDialogue
import KefuRules
import Testing
@testable import KefuCorpus

/// The case format, the runner, coverage, the comparison of two rule sets and the JUnit report.
@Suite("Conversation tests")
struct CorpusTests {
    static let rules = """
        default: 抱歉，没有理解。
        events: {subscribe: 欢迎关注！}
        intents:
          refund: [我要退货, 怎么退款, 东西坏了想退, 申请售后]
        rules:
          - {id: hello, when: {exact: [你好]}, reply: 您好！}
          - {id: fee, when: {contains: [运费]}, reply: 满 99 元包邮。}
          - {id: refund, when: {intent: refund}, flow: return}
          - {id: menu, when: {click: MENU_INFO}, reply: {news: {title: 联系我们, url: 'https://x.example/c'}}}
        interrupts:
          - {when: {exact: [取消]}, action: cancel}
          - {id: human, when: {contains: [人工]}, action: handoff}
        flows:
          return:
            expires: 30m
            on_expire: 退货登记已超时。
            steps:
              - {slot: order, ask: 请提供订单号, expect: {regex: 'DD\\d{4}'}, retry: [格式不对, 在我的订单里找], max_attempts: 3, on_fail: handoff}
              - {slot: phone, ask: 请留手机号, expect: mobile}
            done: 已登记 {{order}}，手机 {{phone}}。
        """

    static let compiled = try! RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: rules)]))

    static func cases(_ yaml: String) throws -> [ConversationCase] {
        try CorpusLoader.parse(files: [(path: "cases.yaml", text: yaml)])
    }

    static let passing = """
        cases:
          - name: 退货：订单号答错一次，再给对，留手机号
            steps:
              - say: 我要退货
                rule: refund
                intent: refund
                flow: return
                step: order
              - say: 不知道
                reply: 格式不对
              - say: DD1234
                step: phone
                slots: {order: DD1234}
              - resend: true
                step: phone
              - say: 13812345678
                reply: 已登记 DD1234，手机 13812345678。
                flow: none
          - name: 菜单、关注、两个用户、转人工后暂停
            steps:
              - event: {click: MENU_INFO}
                type: news
                contains: 联系我们
              - event: subscribe
                rule: events.subscribe
              - say: 转人工
                user: o_other
                type: transfer
                paused: true
                rule: interrupt:human
              - say: 你好
                reply: 您好！
                paused: false
              - say: 你好
                user: o_other
                type: transfer
                rule: handoff
              - wait: 31m
              - say: 你好
                user: o_other
                reply: 您好！
        """

    @Test("cases run through the engine with a virtual clock; every expectation kind can pass")
    func passes() async throws {
        let results = await CorpusRunner(rules: Self.compiled).run(try Self.cases(Self.passing))
        for result in results { #expect(result.passed, "\(CaseReport.line(result))\n\(CaseReport.failure(result))") }
        #expect(results.count == 2)
    }

    @Test("--wire: the same cases pass through signed, encrypted XML")
    func wire() async throws {
        let results = await CorpusRunner(rules: Self.compiled, wire: true).run(try Self.cases(Self.passing))
        #expect(results.allSatisfy { $0.passed }, "\(results.map { CaseReport.failure($0) })")
    }

    @Test("a failing case names the step, the expectation, expected and actual; a multi-line reply gets a line diff")
    func failure() async throws {
        let result = await CorpusRunner(rules: Self.compiled).run(try Self.cases("""
            cases:
              - name: 期望错了
                steps:
                  - say: 运费多少
                    reply: |-
                      满 99 元包邮。
                      不满 99 元运费 8 元。
                    rule: hello
                  - say: 我要退货
                    step: phone
                    slots: {order: DD0000}
                    paused: true
                    not_contains: 订单号
                    regex: '^\\d+$'
                    intent: none
            """))[0]
        #expect(!result.passed)
        #expect(result.failures.map(\.key) == ["reply", "rule", "step", "slots", "paused", "not_contains", "regex", "intent"])
        let report = CaseReport.failure(result)
        #expect(report.contains("step 1: say “运费多少”  (cases.yaml:4:9)"), "\(report)")
        #expect(report.contains("  满 99 元包邮。\n        - 不满 99 元运费 8 元。"), "\(report)")
        #expect(report.contains("expected: hello\n        actual:   fee"))
        #expect(report.contains("expected: order=DD0000\n        actual:   order=(empty)"))
        #expect(CaseReport.line(result).hasPrefix("✘ 期望错了"))
    }

    @Test("a case that cannot go on stops with the reason (resend before any message)")
    func stops() async throws {
        let result = await CorpusRunner(rules: Self.compiled).run(try Self.cases("cases:\n  - name: x\n    steps:\n      - resend: true\n      - say: 你好\n"))[0]
        #expect(result.error?.contains("nothing to resend") == true && result.observations.isEmpty)
    }

    @Test("coverage counts rules, interrupts, replies, intents, steps and each re-prompt text")
    func coverage() async throws {
        let results = await CorpusRunner(rules: Self.compiled).run(try Self.cases(Self.passing))
        let coverage = Coverage(rules: Self.compiled, results: results)
        let missing = Set(coverage.missing.map(\.name))
        #expect(missing == ["fee", "cancel", "default", "return/order retry 2", "return/phone re-prompt"], "\(missing)")
        #expect(coverage.items.count == 14 && coverage.reached == 9)
        #expect(Int(coverage.percent.rounded()) == 64)
    }

    @Test("scheduled messages: sent: checks what went out during a wait, with why one was not; coverage counts each scheduled message sent")
    func scheduled() async throws {
        let rules = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: """
            default: 抱歉
            rules:
              - {id: book, when: {contains: [预约]}, flow: book}
            flows:
              book:
                steps:
                  - {slot: time, ask: 几点？, expect: datetime}
                done: 好的
                schedule:
                  - {id: soon, before: 2h, of: time, text: '快到了：{{time}}'}
                  - {id: later, after: 3d, template: {id: TM1, data: {thing1: 回访}}}
            """)]))
        let cases = try Self.cases("""
            cases:
              - name: 约明天下午三点
                steps:
                  - say: 预约
                  - say: 明天下午3点
                    sent: []
                  - wait: 1d
                    sent: []
                  - wait: 4h
                    sent: [快到了：2026-11-26 周四 15:00]
              - name: 期望错了
                steps:
                  - say: 预约
                  - say: 12月5号下午3点
                  - wait: 11d
                    sent: [快到了：2026-12-05 周六 15:00]
            """)
        let results = await CorpusRunner(rules: rules).run(cases)
        #expect(results[0].passed, "\(results[0].failures)")
        let failure = try #require(results[1].failures.first)
        #expect(failure.key == "sent" && failure.actual.contains("[template TM1: thing1=回访]") && failure.actual.contains("window is closed"), "\(failure.actual)")
        let coverage = Coverage(rules: rules, results: [results[0]])
        #expect(coverage.items.filter { $0.kind == .scheduled }.map(\.name) == ["book/soon", "book/later"])
        #expect(coverage.missing.filter { $0.kind == .scheduled }.map(\.name) == ["book/later"])
    }

    @Test("the comparison lists the conversations whose replies change between two rule sets, step by step")
    func against() async throws {
        let cases = try Self.cases(Self.passing)
        let changed = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: Self.rules.replacingOccurrences(of: "您好！", with: "您好，在的！"))]))
        let old = await CorpusRunner(rules: Self.compiled).run(cases)
        let new = await CorpusRunner(rules: changed).run(cases)
        let changes = ConversationChange.compare(old: old, new: new)
        #expect(changes.map(\.testCase.name) == ["菜单、关注、两个用户、转人工后暂停"])
        #expect(changes[0].steps.map(\.index) == [3, 6])
        #expect(changes[0].steps[0].old == "您好！" && changes[0].steps[0].new == "您好，在的！")
        #expect(ConversationChange.compare(old: old, new: old).isEmpty)
    }

    @Test("JUnit XML: one suite per file, failures with their report, escaped, well-formed")
    func junit() async throws {
        let results = await CorpusRunner(rules: Self.compiled).run(try Self.cases(Self.passing + "\n  - name: 坏的 <&>\n    steps:\n      - say: 你好\n        reply: 不对\n"))
        let xml = JUnitReport.xml(results) { CaseReport.failure($0) }
        #expect(xml.contains("<testsuite name=\"cases.yaml\" tests=\"3\" failures=\"1\""))
        #expect(xml.contains("<testcase name=\"坏的 &lt;&amp;&gt;\""))
        #expect(xml.contains("<failure message=\"reply: expected 不对\">"))
        let parser = XMLParser(data: Data(xml.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }

    @Test("case files: each mistake is reported with file:line:col and what to write", arguments: [
        ("cases:\n  - name: a\n    steps:\n      - say: 你好\n        replay: x\n", "cases.yaml:5:9", "unknown key 'replay' in a step"),
        ("cases:\n  - name: a\n    steps:\n      - say: 你好\n        event: subscribe\n", "cases.yaml:4:9", "a step has one action, not say and event"),
        ("cases:\n  - name: a\n    steps:\n      - contains: x\n", "cases.yaml:4:9", "a step needs one action"),
        ("cases:\n  - name: a\n    steps:\n      - wait: 30 minutes\n", "cases.yaml:4:15", "wait must be a duration"),
        ("cases:\n  - name: a\n    steps:\n      - event: clik\n", "cases.yaml:4:16", "event cannot be 'clik'"),
        ("cases:\n  - name: a\n    steps:\n      - say: x\n        type: card\n", "cases.yaml:5:15", "type cannot be 'card'"),
        ("cases:\n  - name: a\n    start: tomorrow\n    steps:\n      - say: x\n", "cases.yaml:3:12", "start must be a local date and time"),
        ("cases:\n  - steps:\n      - say: x\n", "cases.yaml:2:5", "a case needs a 'name'"),
        ("cases:\n  - name: a\n    steps:\n      - say: x\n        regex: '('\n", "cases.yaml:5:17", "regex does not compile"),
        ("case:\n  - name: a\n", "cases.yaml:1:1", "unknown key 'case' in a case file"),
        ("cases:\n  - name: a\n    steps:\n      - wait: 5m\n        contains: x\n", "cases.yaml:5:9", "a wait step has no reply to check"),
        ("cases:\n  - name: a\n    steps:\n      - resend: false\n", "cases.yaml:4:17", "resend takes no value other than true"),
        ("cases:\n  - name: a\n    steps:\n      - say: [你好\n", "cases.yaml:5:1", "YAML syntax"),
    ])
    func mistakes(yaml: String, location: String, says: String) {
        do {
            _ = try CorpusLoader.parse(files: [(path: "cases.yaml", text: yaml)])
            Issue.record("accepted: \(yaml)")
        } catch {
            let rendered = error.diagnostics.map { "\($0.location): \($0.message)" }
            #expect(rendered.contains { $0.hasPrefix(location) && $0.contains(says) }, "\(rendered)")
            #expect(error.diagnostics.allSatisfy { $0.hint != nil })
            #expect(error.diagnostics.count == 1, "one mistake, one diagnostic: \(rendered)")
        }
    }

    @Test("two clicks on different keys in the same second are two messages, not a retry")
    func eventsInOneSecond() async throws {
        let results = await CorpusRunner(rules: Self.compiled).run(try Self.cases("""
            cases:
              - name: 连点两个菜单
                steps:
                  - event: {click: MENU_INFO}
                    type: news
                  - event: {click: OTHER}
                    type: success
                    not_contains: 联系我们
            """))
        #expect(results[0].passed, "\(CaseReport.failure(results[0]))")
    }

    @Test("the gate: nil when the corpus passes, the first failures otherwise")
    func gate() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-gate-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.passing.write(to: dir.appendingPathComponent("cases.yaml"), atomically: true, encoding: .utf8)
        let gate = try CorpusGate(paths: [dir.path])
        #expect(await gate.check(Self.compiled) == nil)
        let broken = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: Self.rules.replacingOccurrences(of: "您好！", with: "嗨"))]))
        let reason = await gate.check(broken)
        #expect(reason?.hasPrefix("1 of 2 corpus cases fail: “菜单、关注、两个用户、转人工后暂停”") == true, "\(reason ?? "")")
    }
}
