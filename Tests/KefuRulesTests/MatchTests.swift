import Testing
@testable import KefuRules

/// Named cases over one rule set: basics, normalization, precedence, regexes and captures, events.
@Suite("Matching")
struct MatchTests {
    static let yaml = """
        settings:
          normalize: {chinese: simplified}
        default: 抱歉
        events:
          subscribe: 感谢关注
        rules:
          - id: greeting
            when: {exact: [你好, hi]}
            reply: 您好
          - id: shipping
            when: {contains: [发货, 几天到]}
            reply: 48 小时内发货
          - id: fee
            when: {contains: [运费]}
            reply: 满 99 包邮
          - id: return-fee
            when: {contains: [退货运费]}
            reply: 质量问题我们承担
          - id: hello-keyword
            when: {contains: [你好]}
            reply: 这条不会赢过 exact
          - id: human
            when: {contains: [人工]}
            reply: {transfer: true}
            priority: 10
          - id: order
            when: {regex: '订单\\s*(?<order>DD\\d{12})'}
            reply: 订单 {{order}}
          - id: any-order
            when: {regex: '(?<order>DD\\d{12})'}
            reply: 单号 {{order}}
          - id: phone
            when: {regex: '(?<phone>1[3-9]\\d{9})'}
            reply: 手机 {{phone}}
          - id: refund
            when: {intent: refund}
            reply: 退货请回复订单号
          - id: first
            when: {contains: [发票]}
            reply: 一
          - id: second
            when: {contains: [开发票]}
            reply: 二
          - id: menu-exact
            when: {click: MENU_ORDER_LIST}
            reply: 订单列表
          - id: menu-any-order
            when: {click: 'MENU_ORDER_*'}
            reply: 订单菜单
          - id: store-qr
            when: {subscribe: [store_1]}
            reply: 门店欢迎
          - id: any-follow
            when: {subscribe: true}
            reply: 欢迎
          - id: photo
            when: {message: [image, shortvideo]}
            reply: 收到图片
        intents:
          refund: [我要退货, 怎么退款, 东西坏了想退, 申请售后, 不想要了能退吗]
        """

    static let rules = try! compileRules(yaml)

    @Test("text cases", arguments: [
        ("exact beats contains", "你好", "greeting"),
        ("exact is whole-message only", "你好呀", "hello-keyword"),
        ("exact after normalization", "  ＨＩ！ ", "greeting"),
        ("contains", "什么时候发货", "shipping"),
        ("longer keyword wins", "退货运费谁出", "return-fee"),
        ("traditional input", "退貨運費誰出", "return-fee"),
        ("priority beats everything", "你好，转人工", "human"),
        ("regex beats contains", "订单 DD202406110001 什么时候发货", "order"),
        ("longer regex match wins", "订单DD202406110001", "order"),
        ("regex without anchor word", "DD202406110001", "any-order"),
        ("lowercase input, case-insensitive regex", "dd202406110001", "any-order"),
        ("full-width digits reach the regex", "１３８１２３４５６７８", "phone"),
        ("intent", "我想退款", "refund"),
        ("declaration order breaks a tie", "发票", "first"),
        ("specificity before order", "怎么开发票", "second"),
    ])
    func text(name: String, input: String, expected: String) {
        #expect(winner(Self.rules, input) == expected, "\(name): “\(input)” → \(Self.rules.match(.text(input)).candidates.map(\.ruleID))")
    }

    @Test("nothing matches: no winner (the engine sends the default reply)")
    func noMatch() {
        let result = Self.rules.match(.text("今天天气怎么样"))
        #expect(result.winner == nil, "\(result.candidates.map(\.ruleID)) \(String(describing: result.intent))")
        #expect(Self.rules.defaultReply == .text(Template("抱歉")))
    }

    @Test("captures come from the original text, as typed")
    func captures() {
        let result = Self.rules.match(.text("订单 ｄｄ２０２４０６１１０００１ 到哪了"))
        #expect(result.winner?.ruleID == "order")
        #expect(result.winner?.captures == ["order": "ｄｄ２０２４０６１１０００１"])
        let utf8 = Array("订单 ｄｄ２０２４０６１１０００１ 到哪了".utf8)
        let span = result.winner!.span!
        #expect(String(decoding: utf8[span], as: UTF8.self) == "订单 ｄｄ２０２４０６１１０００１")
        var rng = SeededGenerator(seed: 1)
        #expect(Self.rules.rules[result.winner!.rule].reply!.render(captures: result.winner!.captures, using: &rng)
            == .text("订单 ｄｄ２０２４０６１１０００１"))
    }

    @Test("keyword spans point at the original characters")
    func spans() {
        let text = "退貨運費誰出"
        let m = Self.rules.match(.text(text)).winner!
        #expect(String(decoding: Array(text.utf8)[m.span!], as: UTF8.self) == "退貨運費")
    }

    @Test("all candidates are listed in precedence order")
    func candidates() {
        let ids = Self.rules.match(.text("退货运费")).candidates.map(\.ruleID)
        #expect(ids.prefix(2) == ["return-fee", "fee"])
        #expect(ids.contains("refund") == (Self.rules.match(.text("退货运费")).intent?.intent == "refund"))
    }

    @Test("events", arguments: [
        (EventInput.click(key: "MENU_ORDER_LIST"), "menu-exact"),
        (.click(key: "MENU_ORDER_RETURNS"), "menu-any-order"),
        (.subscribe(scene: "store_1"), "store-qr"),
        (.subscribe(scene: "ad_7"), "any-follow"),
        (.subscribe(scene: nil), "any-follow"),
    ])
    func events(event: EventInput, expected: String) {
        #expect(Self.rules.match(.event(event)).winner?.ruleID == expected)
    }

    @Test("an event nothing answers, and message kinds")
    func others() {
        #expect(Self.rules.match(.event(.click(key: "OTHER"))).winner == nil)
        #expect(Self.rules.match(.event(.scan(scene: "x"))).winner == nil)
        #expect(Self.rules.match(.message(.image)).winner?.ruleID == "photo")
        #expect(Self.rules.match(.message(.shortvideo)).winner?.ruleID == "photo")
        #expect(Self.rules.match(.message(.voice)).winner == nil)
        #expect(Self.rules.subscribeReply == .text(Template("感谢关注")))
    }

    @Test("the compiled rule set can be shared across tasks")
    func sendable() async {
        let rules = Self.rules
        let winners = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 { group.addTask { winner(rules, "退货运费") } }
            var all: [String?] = []
            for await w in group { all.append(w) }
            return all
        }
        #expect(winners == Array(repeating: "return-fee", count: 8))
    }

    @Test("templates: placeholders, spaces inside braces, unclosed braces stay literal")
    func templates() {
        #expect(Template("订单 {{ order }} 已发货").render(["order": "DD1"]) == "订单 DD1 已发货")
        #expect(Template("{{a}}{{b}}").variables == ["a", "b"])
        #expect(Template("价格 {{ 未闭合").render([:]) == "价格 {{ 未闭合")
        var rng = SeededGenerator(seed: 7)
        let reply = RuleReply.inOrder([Template("第一段"), Template("第二段")])
        #expect(reply.render(captures: [:], using: &rng) == .text("第一段\n\n第二段"))
    }
}
