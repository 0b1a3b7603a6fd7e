import Testing
@testable import KefuRules

@Suite("Explain")
struct ExplainTests {
    @Test("explain shows each normalization step, every candidate with why it lost, and the reply")
    func text() {
        let output = Explanation(MatchTests.rules, .text("退貨運費！")).render()
        #expect(output.contains("消息 message: “退貨運費！”"))
        #expect(output.contains("全角→半角 (width): → “退貨運費!”"))
        #expect(output.contains("繁→简 (chinese): → “退货运费!”"))
        #expect(output.contains("result: “退货运费”"))
        #expect(output.contains("1. return-fee [rules.yaml:"))
        #expect(output.contains("← winner"))
        #expect(output.contains("fee [rules.yaml:"))
        #expect(output.contains("✗ lost: shorter keyword (2 < 4 characters)"))
        #expect(output.contains("回复 reply (return-fee): 质量问题我们承担"))
    }

    @Test("explain of a message nothing answers names the default reply; of an event, the event rule")
    func defaultAndEvents() {
        let none = Explanation(MatchTests.rules, .text("今天天气怎么样")).render()
        #expect(none.contains("(none)"))
        #expect(none.contains("回复 reply (default): 抱歉"))
        let click = Explanation(MatchTests.rules, .event(.click(key: "MENU_ORDER_LIST"))).render()
        #expect(click.contains("1. menu-exact"))
        #expect(click.contains("menu-any-order"))
        #expect(click.contains("✗ lost: less specific (1 < 2)"))
    }
}
