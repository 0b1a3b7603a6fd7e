import Foundation
import Testing
@testable import KefuRules

/// "None of them": `not:` per intent, the rule set's `none:` list, the built-in none set, the
/// calibrated decline, `isConfident`, and how explain words it.
@Suite("Intents that stay quiet")
struct IntentNoneTests {
    /// The shop's intents as Rules/shop/faq.yaml writes them (before any none examples of its own).
    static let shop = """
        rules:
          - id: refund
            when: {intent: refund}
            reply: 登记售后
          - id: logistics
            when: {intent: logistics}
            reply: 请发订单号
        intents:
          refund:
            examples: [我要退货, 怎么退款, 收到的东西坏了, 申请售后, 不想要了能退吗, 商品有质量问题, 退钱, 东西有破损想退, 尺码不合适想换]
            not: [我想投诉客服]
          logistics:
            examples: [我的快递到哪了, 查一下物流, 怎么还没收到货, 包裹到哪里了, 快递信息查不到, 物流停了好几天, 查物流]
          none: [你们招不招客服]

        """

    static let rules: CompiledRules = try! compileRules(shop)

    func intent(_ rules: CompiledRules, _ text: String) -> IntentPrediction {
        rules.intentClassifier!.classify(rules.normalizer.normalize(text).string)
    }

    @Test("ordinary messages are declined", arguments: [
        "在吗", "在吗？", "好的谢谢", "有人吗", "客服在吗", "你是机器人吗", "有优惠券吗", "老板在吗", "哈哈", "谢谢", "你好",
        "亲，在吗在吗", "你们招聘服务员吗",
    ])
    func declined(text: String) {
        let p = intent(Self.rules, text)
        #expect(p.intent == nil, "\(text): \(p)")
        #expect(p.declined != nil)
        #expect(!p.isConfident)
    }

    @Test("business messages still get their intent", arguments: [
        ("我要退货", "refund"), ("东西坏了想退货", "refund"), ("在吗，我要退货", "refund"), ("退款怎么申请", "refund"),
        ("我的快递到哪了", "logistics"), ("帮我查查物流", "logistics"), ("包裹怎么还没到", "logistics"),
    ])
    func answered(text: String, expected: String) {
        let p = intent(Self.rules, text)
        #expect(p.intent == expected, "\(text): \(p); thresholds \(Self.rules.intentClassifier!.threshold) \(Self.rules.intentClassifier!.minimumSimilarity)")
        #expect(p.declined == nil)
    }

    @Test("a not: example and a none: example are declined, as none of them")
    func notAndNone() {
        #expect(intent(Self.rules, "我想投诉客服").declined == .resemblesNone)
        #expect(intent(Self.rules, "你们招不招客服").declined == .resemblesNone)
        let sources = Self.rules.intentClassifier!.noneExamples.map(\.source)
        #expect(sources.contains(.notOf(intent: "refund", at: SourceLocation(file: "rules.yaml", line: 11, column: 11))), "\(sources.prefix(3))")
        #expect(sources.contains(.ruleSet(SourceLocation(file: "rules.yaml", line: 14, column: 10))))
    }

    @Test("without the built-in set, a set trained on 吗-questions answers 在吗; with it, 在吗 is declined")
    func builtinMatters() throws {
        // Many weather examples end in 吗, as in xSID: 吗 must not become a weather word.
        let weather = """
            rules:
              - {id: w, when: {intent: weather}, reply: 天气}
              - {id: a, when: {intent: alarm}, reply: 闹钟}
            intents:
              weather: [明天会下雨吗, 今天热吗, 周末会下雪吗, 北京冷吗, 明天需要带伞吗, 今天有雾霾吗, 后天天气好吗, 上海现在在下雨吗]
              alarm: [明早七点叫我, 设一个八点的闹钟, 取消明天的闹钟, 六点半叫醒我, 闹钟改到九点, 把闹钟关掉]

            """
        let with = try compileRules(weather)
        let without = try compileRules(weather + "settings: {builtin_none: false}\n")
        #expect(without.intentClassifier!.noneExamples.isEmpty)
        #expect(!with.intentClassifier!.noneExamples.isEmpty)
        for text in ["在吗", "有人吗", "客服在吗", "有优惠券吗", "你是机器人吗"] {
            #expect(intent(with, text).intent == nil, "\(text): \(intent(with, text))")
        }
        #expect(intent(with, "明天会不会下雨").intent == "weather")
        #expect(intent(with, "帮我定个七点的闹钟").intent == "alarm")
        // Without it, at least one of these is answered (the problem this fixes).
        let answered = ["在吗", "有人吗", "客服在吗", "有优惠券吗", "你是机器人吗"].filter { intent(without, $0).intent != nil }
        #expect(!answered.isEmpty)
    }

    @Test("a rule set whose intent says thanks keeps its thanks: that built-in category is left out")
    func builtinYieldsToOwnIntents() throws {
        let rules = try compileRules("""
            rules:
              - {id: t, when: {intent: thank}, reply: 不客气}
              - {id: h, when: {intent: hotel}, reply: 酒店}
            intents:
              thank: ['好的，谢谢。', '好的，谢谢你了。', 谢谢你啊, 非常感谢！, 多谢了]   # a comma inside an example: quoted (lint's full-width-comma)
              hotel: [这家酒店的地址在哪, 酒店有停车场吗, 推荐一个便宜的酒店, 酒店的电话是多少, 酒店评分怎么样]
            """)
        let none = rules.intentClassifier!.noneExamples
        #expect(!none.contains { $0.source == .builtin(category: "感谢") })
        #expect(none.contains { $0.source == .builtin(category: "在不在") })
        #expect(intent(rules, "好的谢谢").intent == "thank")
        #expect(intent(rules, "在吗").intent == nil)
        let dropped = BuiltinNone.examples(normalize: { $0 }, excludingLike: ["好的，谢谢。", "谢谢你啊", "非常感谢！", "多谢了"]).droppedCategories
        #expect(dropped == ["感谢"])
    }

    @Test("a confident answer is one the held-out examples were right about")
    func confidence() throws {
        let classifier = Self.rules.intentClassifier!
        let sure = intent(Self.rules, "我要退货")
        #expect(sure.intent == "refund")
        if classifier.confidentThreshold.isFinite {
            #expect(classifier.confidentThreshold >= classifier.threshold)
            #expect(sure.isConfident == (sure.score >= classifier.confidentThreshold))
        }
        // With many examples a confident level is found and typical messages reach it.
        var many: [(intent: String, text: String)] = []
        for item in ["退货", "退款", "退钱", "退掉", "退回"] {
            for frame in ["我要%@", "怎么%@", "想%@", "申请%@", "能%@吗", "可以%@吗"] { many.append(("refund", frame.replacingOccurrences(of: "%@", with: item))) }
        }
        for item in ["快递", "物流", "包裹", "运单", "发货"] {
            for frame in ["查%@", "%@到哪了", "%@怎么还没到", "帮我看看%@", "%@信息", "%@停了"] { many.append(("logistics", frame.replacingOccurrences(of: "%@", with: item))) }
        }
        let big = IntentClassifier(examples: many, none: BuiltinNone.examples(normalize: { $0 }, excludingLike: many.map(\.text)).examples)
        #expect(big.confidentThreshold.isFinite, "threshold \(big.threshold)")
        #expect(big.classify("我要退货").isConfident)
        #expect(!big.classify("在吗").isConfident)
    }

    @Test("the loader reads not:, none: and builtin_none, and refuses bad shapes with file:line:col")
    func loader() throws {
        let spec = try RuleSetLoader.parse(files: [(path: "a.yaml", text: Self.shop + "settings: {builtin_none: false}\n")])
        #expect(spec.intents.map(\.name) == ["refund", "logistics"])  // none is not an intent
        #expect(spec.intents[0].negatives.map(\.value) == ["我想投诉客服"])
        #expect(spec.noneExamples.map(\.value) == ["你们招不招客服"])
        #expect(spec.settings.builtinNone == false)

        let conflict = diagnostics("intents:\n  refund:\n    examples: [我要退货]\n    not: [我要退货]\n")
        #expect(conflict.contains { $0.code == "intent-not-conflict" && $0.location.line == 4 && $0.location.column == 11 }, "\(conflict)")
        let badNot = diagnostics("intents:\n  refund: {examples: [我要退货], not: {a: b}}\n")
        #expect(badNot.contains { $0.code == "wrong-type" && $0.location.line == 2 }, "\(badNot)")
        let noneWithNot = diagnostics("intents:\n  none: {examples: [你好], not: [谢谢]}\n")
        #expect(noneWithNot.contains { $0.code == "unknown-key" || $0.message.contains("not") }, "\(noneWithNot)")
        let noneText = diagnostics("intents:\n  none: 你好\n")
        #expect(noneText.contains { $0.code == "wrong-type" && $0.location.line == 2 && ($0.hint ?? "").contains("none: [") }, "\(noneText)")
        let badSetting = diagnostics("settings: {builtin_none: maybe}\n")
        #expect(badSetting.contains { $0.location.line == 1 }, "\(badSetting)")
    }

    @Test("a rule answering intent none is an error with a hint")
    func ruleOnNone() {
        do {
            _ = try compileRules("rules:\n  - id: r\n    when: {intent: none}\n    reply: 好的\nintents:\n  none: [你好]\n  a: [我要退货]\n")
            Issue.record("compiled")
        } catch {
            let d = error.diagnostics.first { $0.code == "intent-none-in-rule" }
            #expect(d?.location.line == 3, "\(error.diagnostics)")
            #expect(d?.hint?.contains("default:") == true)
        }
    }

    @Test("explain words the decision for a support lead")
    func explain() {
        let greeting = Explanation(Self.rules, .text("在吗")).render()
        #expect(greeting.contains("→ 都不是：这句更像不该由意图回答的话（它就是内置的“在不在”类闲聊里的“在吗”），这类话会被当作闲聊"), "\(greeting)")
        let not = Explanation(Self.rules, .text("我想投诉客服")).render()
        #expect(not.contains("意图 refund 的 not: 例句（rules.yaml:11:11）"), "\(not)")
        let refund = Explanation(Self.rules, .text("我要退货")).render()
        #expect(refund.contains("→ refund："), "\(refund)")
        #expect(refund.contains("和例句“我要退货”很像"), "\(refund)")
        #expect(refund.contains("细节 details: 概率"))
        #expect(!greeting.contains("similarity ≥"))
        let nothing = Explanation(Self.rules, .text("hello world xyz")).render()
        #expect(nothing.contains("没有一个相同的字") || nothing.contains("都不是"), "\(nothing)")
    }

    @Test("the out-of-domain corpus repeats no built-in none message", arguments: [0])
    func oodIsHeldOut(_: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Corpora/intents/out-of-domain.tsv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.count >= 200)
        let builtin = Set(BuiltinNone.allMessages.map(BuiltinNone.key))
        let repeated = rows.filter { builtin.contains(BuiltinNone.key($0[1])) }.map { $0[1] }
        #expect(repeated.isEmpty, "\(repeated)")
        #expect(BuiltinNone.allMessages.count >= 250)
    }
}
