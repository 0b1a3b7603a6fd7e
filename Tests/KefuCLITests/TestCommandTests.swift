import Foundation
import Testing

/// `kefu test` and `kefu eval` as a support lead and CI run them.
@Suite("kefu test / eval")
struct TestCommandTests {
    static let rules = """
        default: 抱歉，没有理解。
        intents:
          refund: [我要退货, 怎么退款, 东西坏了想退, 申请售后, 不想要了能退吗]
          logistics: [快递到哪了, 查物流, 怎么还没收到货, 包裹到哪里了]
        rules:
          - {id: fee, when: {contains: [运费]}, reply: "满 99 元包邮。\\n不满 99 元运费 8 元。"}
          - {id: refund, when: {intent: refund}, reply: 请回复订单号。}
          - {id: logistics, when: {intent: logistics}, reply: 请回复订单号查物流。}
        """

    static let cases = """
        cases:
          - name: 问运费
            steps:
              - say: 运费多少
                reply: |-
                  满 99 元包邮。
                  不满 99 元运费 8 元。
          - name: 退货
            steps:
              - say: 我要退货
                rule: refund
        """

    static func setUp(rules: String = rules, cases: String = cases) throws -> URL {
        let dir = try RulesCommandTests.temporaryRuleSet([:])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rules"), withIntermediateDirectories: true)
        try rules.write(to: dir.appendingPathComponent("rules/rules.yaml"), atomically: true, encoding: .utf8)
        try cases.write(to: dir.appendingPathComponent("cases.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("passing cases: one line each, a summary, exit 0; --wire and --junit too")
    func passing() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let junit = dir.appendingPathComponent("report.xml").path
        let r = try kefu(["test", "cases.yaml", "--rules", "rules", "--wire", "--junit", junit], workingDirectory: dir)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("✔ 问运费  (cases.yaml:2:5)\n✔ 退货  (cases.yaml:8:5)\n2 cases: 2 passed, 0 failed (through the XML protocol, secure mode)"), "\(r.out)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testsuites name=\"kefu test\" tests=\"2\" failures=\"0\">"))
        for mode in ["plaintext", "compatible"] {
            let other = try kefu(["test", "cases.yaml", "--rules", "rules", "--wire-mode", mode], workingDirectory: dir)
            #expect(other.status == 0 && other.out.contains("(through the XML protocol, \(mode) mode)"), "\(other.out)")
        }
        #expect(try kefu(["test", "cases.yaml", "--rules", "rules", "--wire-mode", "aes"], workingDirectory: dir).status != 0)
    }

    @Test("a failing case shows its diff and the exit status is 1")
    func failing() throws {
        let dir = try Self.setUp(rules: Self.rules.replacingOccurrences(of: "不满 99 元运费 8 元。", with: "不满 99 元运费 10 元。"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try kefu(["test", "cases.yaml", "--rules", "rules"], workingDirectory: dir)
        #expect(r.status == 1)
        #expect(r.out.contains("""
            ✘ 问运费  (cases.yaml:2:5)
                step 1: say “运费多少”  (cases.yaml:4:9)
                  reply differs (- expected, + actual):
                      满 99 元包邮。
                    - 不满 99 元运费 8 元。
                    + 不满 99 元运费 10 元。
            ✔ 退货  (cases.yaml:8:5)
            2 cases: 1 passed, 1 failed
            """), "\(r.out)")
    }

    @Test("--against lists the conversations a rule change alters, with old and new replies")
    func against() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("new"), withIntermediateDirectories: true)
        try Self.rules.replacingOccurrences(of: "请回复订单号。", with: "请回复订单号（DD 开头）。")
            .write(to: dir.appendingPathComponent("new/rules.yaml"), atomically: true, encoding: .utf8)
        let r = try kefu(["test", "cases.yaml", "--rules", "new", "--against", "rules"], workingDirectory: dir)
        #expect(r.status == 0, "the cases still pass: \(r.out)")
        #expect(r.out.contains("""
            against rules: 1 of 2 conversations change
            ~ 退货  (cases.yaml:8:5)
                step 1: say “我要退货”
                  old - 请回复订单号。
                  new + 请回复订单号（DD 开头）。
            """), "\(r.out)")
    }

    @Test("--coverage lists what no case reaches; --min-coverage fails below it")
    func coverage() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try kefu(["test", "cases.yaml", "--rules", "rules", "--min-coverage", "90"], workingDirectory: dir)
        #expect(r.status == 1)
        #expect(r.out.contains("coverage: 3 of 6 (50.0%)"), "\(r.out)")
        #expect(r.out.contains("not reached: logistics  (rules/rules.yaml:8:5)"))
        #expect(r.out.contains("not reached: default"))
        #expect(r.out.contains("coverage 50.0% is below --min-coverage 90.0%"))
        #expect(try kefu(["test", "cases.yaml", "--rules", "rules", "--min-coverage", "50"], workingDirectory: dir).status == 0)
    }

    @Test("a broken case file: file:line:col and the fix, exit 1; no paths and no Corpora/NAME: a clear error")
    func brokenCases() throws {
        let dir = try Self.setUp(cases: "cases:\n  - name: a\n    steps:\n      - sey: 你好\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try kefu(["test", "cases.yaml", "--rules", "rules"], workingDirectory: dir)
        #expect(r.status == 1)
        #expect(r.err.contains("cases.yaml:4:9: error: unknown key 'sey' in a step") && r.err.contains("did you mean 'say'"), "\(r.err)")
        let none = try kefu(["test", "--rules", "rules"], workingDirectory: dir)
        #expect(none.status != 0 && none.err.contains("Corpora/rules does not exist"), "\(none.err)")
    }

    @Test("a misspelt rule, intent, flow, step or slot in a case is an error before anything runs")
    func unknownNames() throws {
        let dir = try Self.setUp(cases: "cases:\n  - name: a\n    steps:\n      - say: 我要退货\n        rule: refnd\n        intent: refunds\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try kefu(["test", "cases.yaml", "--rules", "rules"], workingDirectory: dir)
        #expect(r.status == 1 && !r.out.contains("cases:"), "\(r.out)")
        #expect(r.err.contains("cases.yaml:5:9: error: rule 'refnd' is not in the rule set") && r.err.contains("did you mean 'refund'"), "\(r.err)")
        #expect(r.err.contains("cases.yaml:6:9: error: intent 'refunds' is not in the rule set"))
    }

    @Test("kefu eval: accuracy, macro-F1, per intent and the confused pairs")
    func eval() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "# text\tintent\n我要退货\trefund\n东西坏了想退\trefund\n快递到哪了\tlogistics\n今天天气真好\tnone\n查一下物流\trefund\n"
            .write(to: dir.appendingPathComponent("labels.tsv"), atomically: true, encoding: .utf8)
        let r = try kefu(["eval", "--rules", "rules", "labels.tsv"], workingDirectory: dir)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("5 messages, 3 labels\naccuracy  0.800\nmacro-F1  0.822"), "\(r.out)")
        #expect(r.out.contains("refund → logistics: 1  e.g. “查一下物流”"))
        try "我要退货 refund\n".write(to: dir.appendingPathComponent("bad.tsv"), atomically: true, encoding: .utf8)
        let bad = try kefu(["eval", "--rules", "rules", "bad.tsv"], workingDirectory: dir)
        #expect(bad.status != 0 && bad.err.contains("bad.tsv:1: expected the text, a tab and the intent"), "\(bad.err)")
    }
}
